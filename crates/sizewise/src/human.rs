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

/// Three significant digits, without a trailing ".0" clutter.
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
    } else {
        format!("{x:.2e}")
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

/// A context window in tokens the way vendors say it: 8k, 128k, 2M, 2,048.
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

/// Money in USD.
pub fn usd(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("${}M", sig(x / 1e6))
    } else if a >= 1e4 {
        format!("${:.0}k", x / 1e3)
    } else if a >= 100.0 {
        format!("${x:.0}")
    } else if a >= 0.01 {
        format!("${x:.2}")
    } else if a == 0.0 {
        "$0".into()
    } else {
        format!("${x:.2e}")
    }
}

/// A duration given in seconds.
#[allow(dead_code)] // used by the estimator commands
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
    }
}
