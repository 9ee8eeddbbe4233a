//! Process CPU time and machine load, to show the client's own overhead.

/// User + system CPU seconds used so far by this whole process (`getrusage(RUSAGE_SELF)`).
#[cfg(unix)]
pub(crate) fn process_cpu_s() -> Option<f64> {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes a full `rusage` into the pointer on success (returns 0).
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: rc == 0, so the struct was initialized.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(tv(ru.ru_utime) + tv(ru.ru_stime))
}

/// Not available on this platform.
#[cfg(not(unix))]
pub(crate) fn process_cpu_s() -> Option<f64> {
    None
}

/// The 1-minute load average from `/proc/loadavg` (Linux), to tell a busy machine.
pub(crate) fn load_avg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Logical CPUs available to this process.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
