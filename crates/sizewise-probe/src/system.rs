//! What the operating system says about this machine: cores, memory, CPU model,
//! load, CPU time of other processes, and the clock in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The machine as the operating system describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Host name (`local` when unknown).
    pub hostname: String,
    /// Operating system (`linux`, `macos`, `windows`...).
    pub os: String,
    /// CPU architecture (`x86_64`, `aarch64`...).
    pub arch: String,
    /// CPU model name (`/proc/cpuinfo`), or `unknown`.
    pub cpu_model: String,
    /// CPU maker (`Intel`, `AMD`...), or `unknown`.
    pub cpu_vendor: String,
    /// Logical CPUs this process may use.
    pub logical_cores: usize,
    /// Installed memory in bytes (`MemTotal`), when known.
    pub memory_total_bytes: Option<u64>,
    /// Memory available to new work in bytes (`MemAvailable`), when known.
    pub memory_available_bytes: Option<u64>,
}

/// The three load averages (`/proc/loadavg`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadAverage {
    /// Over 1 minute.
    pub one: f64,
    /// Over 5 minutes.
    pub five: f64,
    /// Over 15 minutes.
    pub fifteen: f64,
}

impl SystemInfo {
    /// Reads what this machine says about itself.
    pub fn read() -> SystemInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        SystemInfo {
            hostname: hostname(),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            cpu_model: cpuinfo_field(&cpuinfo, "model name")
                .or_else(|| cpuinfo_field(&cpuinfo, "Model"))
                .unwrap_or_else(|| "unknown".into()),
            cpu_vendor: match cpuinfo_field(&cpuinfo, "vendor_id").as_deref() {
                Some("GenuineIntel") => "Intel".into(),
                Some("AuthenticAMD") => "AMD".into(),
                Some(v) => v.to_string(),
                None => "unknown".into(),
            },
            logical_cores: logical_cores(),
            memory_total_bytes: meminfo_kib(&meminfo, "MemTotal").map(|k| k * 1024),
            memory_available_bytes: meminfo_kib(&meminfo, "MemAvailable").map(|k| k * 1024),
        }
    }
}

/// Logical CPUs available to this process (at least 1).
pub fn logical_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// The value of the first `key : value` line of `/proc/cpuinfo` text.
pub fn cpuinfo_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key)
            .then(|| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The value in KiB of a `/proc/meminfo` line (`MemTotal:  16318448 kB`).
pub fn meminfo_kib(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        if k.trim() != key {
            return None;
        }
        v.split_whitespace().next()?.parse().ok()
    })
}

/// The load averages now, where the system has `/proc/loadavg`.
pub fn load_average() -> Option<LoadAverage> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

/// Parses `/proc/loadavg` text (`0.52 0.58 0.59 1/467 12345`).
pub fn parse_loadavg(text: &str) -> Option<LoadAverage> {
    let mut it = text.split_whitespace().map(str::parse::<f64>);
    Some(LoadAverage {
        one: it.next()?.ok()?,
        five: it.next()?.ok()?,
        fifteen: it.next()?.ok()?,
    })
}

/// CPU time counters, in clock ticks: all CPUs busy, all CPUs in total, this process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    busy: u64,
    total: u64,
    own: u64,
}

impl CpuTimes {
    /// Reads the counters (`/proc/stat`, `/proc/self/stat`), where the system has them.
    pub fn now() -> Option<CpuTimes> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        let (busy, total) = parse_proc_stat(&stat)?;
        Some(CpuTimes {
            busy,
            total,
            own: parse_self_stat(&own)?,
        })
    }

    /// The share (0..1) of all CPUs' time that other processes used (or the
    /// hypervisor stole) between `self` and `later`.
    pub fn others_share(&self, later: &CpuTimes) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        if total == 0 {
            return None;
        }
        let busy = later.busy.saturating_sub(self.busy);
        let own = later.own.saturating_sub(self.own);
        Some((busy.saturating_sub(own) as f64 / total as f64).clamp(0.0, 1.0))
    }
}

/// Busy and total ticks of the `cpu` line of `/proc/stat`.
fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map_while(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let idle = get(3) + get(4);
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    Some((busy, busy + idle)).filter(|_| v.len() >= 4)
}

/// User + system ticks of this process from `/proc/self/stat`.
fn parse_self_stat(text: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime); `rest` starts at field 3.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The time now in UTC, RFC 3339 with seconds (`2025-06-01T12:34:56Z`).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since 1970-01-01 UTC as RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let s = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(now_rfc3339().len(), 20);
    }

    #[test]
    fn proc_files_parse() {
        let l = parse_loadavg("0.52 0.58 0.59 1/467 12345\n").unwrap();
        assert_eq!((l.one, l.five, l.fifteen), (0.52, 0.58, 0.59));
        assert!(parse_loadavg("").is_none());
        let mem = "MemTotal:       16318448 kB\nMemFree: 1 kB\nMemAvailable:   9000000 kB\n";
        assert_eq!(meminfo_kib(mem, "MemTotal"), Some(16_318_448));
        assert_eq!(meminfo_kib(mem, "MemAvailable"), Some(9_000_000));
        assert_eq!(meminfo_kib(mem, "Nope"), None);
        let cpu = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(
            cpuinfo_field(cpu, "model name").as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(
            parse_proc_stat("cpu  10 0 5 80 5 0 0 0 0 0\ncpu0 1 2 3 4\n"),
            Some((15, 100))
        );
        assert_eq!(
            parse_self_stat("42 (a b) c) S 1 1 1 0 -1 4194304 100 0 0 0 7 3 0 0 20 0"),
            Some(10)
        );
    }

    #[test]
    fn others_share_is_a_fraction() {
        let a = CpuTimes {
            busy: 100,
            total: 1000,
            own: 10,
        };
        let b = CpuTimes {
            busy: 300,
            total: 1400,
            own: 110,
        };
        assert_eq!(a.others_share(&b), Some(0.25));
        assert_eq!(a.others_share(&a), None);
        assert!(SystemInfo::read().logical_cores >= 1);
    }
}
