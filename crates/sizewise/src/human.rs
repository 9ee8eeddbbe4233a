//! Numbers in human terms: 8.03B parameters, 15.0 GiB, 1.2 s, $0.15.

/// A count with a suffix: 135M, 8.03B, 1.8T.
pub fn count(x: f64) -> String {
    let a = x.abs();
    let (v, s) = if a >= 1e12 {
        (x / 1e12, "T")
    } else if a >= 1e9 {
        (x / 1e9, "B")
    } else if a >= 1e6 {
        (x / 1e6, "M")
    } else if a >= 1e3 {
        (x / 1e3, "k")
    } else {
        return sig(x);
    };
    format!("{}{s}", sig(v))
}

/// Three significant digits, never in e-notation: 512, 26.2, 0.0384, 0.000275.
pub fn sig(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a >= 0.01 {
        format!("{x:.3}")
    } else if a < 1e-9 {
        if x < 0.0 {
            "> -0.000000001"
        } else {
            "< 0.000000001"
        }
        .into()
    } else {
        format!("{x:.*}", small_decimals(a))
    }
}

/// Decimals that give three significant digits of a number below 0.01.
fn small_decimals(a: f64) -> usize {
    // a < 0.01, so -log10(a) > 2; a >= 1e-9 keeps it at most 9.
    let lead = (-a.log10()).ceil().clamp(3.0, 9.0) as usize;
    lead + 2
}

/// A quantity with SI prefixes up to yotta: `si(7.57e22, "FLOP")` is "75.7 ZFLOP".
pub fn si(x: f64, unit: &str) -> String {
    const PREFIXES: [&str; 9] = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
    if !x.is_finite() {
        return format!("n/a {unit}");
    }
    let a = x.abs();
    let mut i = 0;
    while i + 1 < PREFIXES.len() && a >= 1000f64.powi(i as i32 + 1) {
        i += 1;
    }
    let v = x / 1000f64.powi(i as i32);
    if i + 1 == PREFIXES.len() && v.abs() >= 1000.0 {
        // Beyond yotta: keep the prefix and group the digits.
        return format!("{} {}{unit}", thousands(v), PREFIXES[i]);
    }
    format!("{} {}{unit}", sig(v), PREFIXES[i])
}

/// A whole number with thousands separators: 1,071,234.
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// Energy given in kWh, with SI prefixes on watt-hours: 444 Wh, 2.68 GWh.
pub fn energy_kwh(kwh: f64) -> String {
    si(kwh * 1000.0, "Wh")
}

/// A mass of CO2 given in kg: 12.3 kg, 1,071 t, 2.50M t.
pub fn co2_kg(kg: f64) -> String {
    let a = kg.abs();
    if a < 1000.0 {
        format!("{} kg CO2", sig(kg))
    } else if a < 1e9 {
        format!("{} t CO2", thousands(kg / 1000.0))
    } else {
        format!("{}M t CO2", sig(kg / 1e9))
    }
}

/// Bytes in binary units (device memory is sold in GiB).
pub fn bytes(b: f64) -> String {
    let a = b.abs();
    let (v, u) = if a >= 1024f64.powi(4) {
        (b / 1024f64.powi(4), "TiB")
    } else if a >= 1024f64.powi(3) {
        (b / 1024f64.powi(3), "GiB")
    } else if a >= 1024f64.powi(2) {
        (b / 1024f64.powi(2), "MiB")
    } else if a >= 1024.0 {
        (b / 1024.0, "KiB")
    } else {
        (b, "B")
    };
    format!("{} {u}", sig(v))
}

/// A context window in tokens the way model cards say it: 8k, 128k, 2M.
/// Powers of two read in 1024-based units (131,072 tokens is "128k", as the
/// Llama 3.1 card says), round decimal figures in 1000-based ones (200,000 is
/// "200k"); anything else is written out.
pub fn window(tokens: u64) -> String {
    if tokens >= 1_000_000 && tokens.is_multiple_of(1_000_000) {
        format!("{}M", tokens / 1_000_000)
    } else if tokens >= 1 << 20 && tokens.is_multiple_of(1 << 20) {
        format!("{}M", tokens >> 20)
    } else if tokens >= 1000 && tokens.is_multiple_of(1000) {
        format!("{}k", tokens / 1000)
    } else if tokens >= 1 << 10 && tokens.is_multiple_of(1 << 10) {
        format!("{}k", tokens >> 10)
    } else {
        tokens.to_string()
    }
}

/// A context length in tokens: window-style when it is a round figure (4096 is
/// "4k", 131072 "128k"), else a count (99384 is "99.4k").
pub fn context(tokens: f64) -> String {
    if tokens.is_finite() && tokens >= 0.0 && tokens.fract() == 0.0 && tokens < 1e15 {
        let n = tokens as u64;
        let w = window(n);
        if w != n.to_string() {
            return w;
        }
    }
    count(tokens)
}

/// Money in USD.
pub fn usd(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("${}M", sig(x / 1e6))
    } else if a >= 1e4 {
        format!("${:.0}k", x / 1e3)
    } else if a >= 100.0 {
        format!("${}", thousands(x))
    } else if a >= 0.01 {
        format!("${x:.2}")
    } else if a == 0.0 {
        "$0".into()
    } else if a < 1e-9 {
        "< $0.000000001".into()
    } else {
        format!("${x:.*}", small_decimals(a))
    }
}

/// A duration given in seconds.
pub fn seconds(s: f64) -> String {
    let a = s.abs();
    if !s.is_finite() {
        "n/a".into()
    } else if a < 1e-3 {
        format!("{} µs", sig(s * 1e6))
    } else if a < 1.0 {
        format!("{} ms", sig(s * 1e3))
    } else if a < 120.0 {
        format!("{} s", sig(s))
    } else if a < 7200.0 {
        format!("{} min", sig(s / 60.0))
    } else if a < 2.0 * 86400.0 {
        format!("{} h", sig(s / 3600.0))
    } else if a < 365.25 * 86400.0 {
        format!("{} days", sig(s / 86400.0))
    } else {
        format!("{} years", sig(s / (365.25 * 86400.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(8.03e9), "8.03B");
        assert_eq!(count(135e6), "135M");
        assert_eq!(count(1.8e12), "1.80T");
        assert_eq!(count(512.0), "512");
    }

    #[test]
    fn byte_units_are_binary() {
        assert_eq!(bytes(80.0 * 1024f64.powi(3)), "80.0 GiB");
        assert_eq!(bytes(1536.0), "1.50 KiB");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds(0.0123), "12.3 ms");
        assert_eq!(seconds(1e6), "11.6 days");
        assert_eq!(seconds(1e9), "31.7 years");
    }

    #[test]
    fn windows() {
        assert_eq!(window(8192), "8k");
        assert_eq!(window(128_000), "128k");
        assert_eq!(window(2_097_152), "2M");
        assert_eq!(window(16385), "16385");
    }

    #[test]
    fn money() {
        assert_eq!(usd(0.15), "$0.15");
        assert_eq!(usd(2_500_000.0), "$2.50M");
        assert_eq!(usd(2.75e-4), "$0.000275");
        assert_eq!(usd(2761.0), "$2,761");
        assert_eq!(usd(3.0e-3), "$0.00300");
    }

    #[test]
    fn no_e_notation() {
        for x in [1e-3, 2.75e-4, 6.07e-3, 1e-8, 1e-12, 7.2e23, 1e30] {
            for s in [sig(x), usd(x), si(x, "FLOP"), energy_kwh(x), co2_kg(x)] {
                let e_notation = s
                    .as_bytes()
                    .windows(2)
                    .any(|w| w[0].is_ascii_digit() && (w[1] == b'e' || w[1] == b'E'));
                assert!(!e_notation, "{s}");
            }
        }
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si(7.57e22, "FLOP"), "75.7 ZFLOP");
        assert_eq!(si(7.227e23, "FLOP"), "723 ZFLOP");
        assert_eq!(si(7.89e9, "FLOP"), "7.89 GFLOP");
        assert_eq!(si(512.0, "FLOP"), "512 FLOP");
        assert_eq!(si(3.2e24, "FLOP"), "3.20 YFLOP");
        assert_eq!(si(4.0e27, "FLOP"), "4,000 YFLOP");
        assert_eq!(energy_kwh(2_676_754.0), "2.68 GWh");
        assert_eq!(energy_kwh(0.444), "444 Wh");
        assert_eq!(co2_kg(1_070_701.0), "1,071 t CO2");
        assert_eq!(co2_kg(12.3), "12.3 kg CO2");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }

    #[test]
    fn power_of_two_windows_read_in_kibi() {
        assert_eq!(window(131_072), "128k");
        assert_eq!(window(32_768), "32k");
        assert_eq!(window(200_000), "200k");
        assert_eq!(window(1_048_576), "1M");
        assert_eq!(context(4096.0), "4k");
        assert_eq!(context(99_384.0), "99.4k");
    }
}
