//! Value types for configuration and display: durations and byte sizes as users write them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::results::Unit;

/// A duration written by a user as a string such as `"500ms"`, `"10s"` or `"1m 30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserDuration(pub Duration);

impl FromStr for UserDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        humantime::parse_duration(trimmed)
            .map(UserDuration)
            .map_err(|e| format!("invalid duration `{s}` ({e}); write it like \"500ms\", \"10s\" or \"2m\""))
    }
}

impl<'de> Deserialize<'de> for UserDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a duration string such as \"500ms\" or \"10s\""))?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for UserDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

/// A size in bytes, written as an integer or as a string such as `"64KiB"` or `"50MiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl FromStr for Bytes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<bytesize::ByteSize>()
            .map(|b| Bytes(b.as_u64()))
            .map_err(|_| format!("invalid size `{s}`; write it as bytes (1048576) or like \"64KiB\" or \"50MiB\""))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a size: an integer number of bytes or a string such as \"64KiB\"")
        })? {
            Raw::Int(n) => Ok(Bytes(n)),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_bytes(self.0 as f64))
    }
}

/// A percentage written as `"2%"` (a string, so that 2 and 0.02 cannot be confused); held as a fraction.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl FromStr for Percent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid percentage `{s}`; write it like \"2%\" or \"0.5%\"");
        let number = s.trim().strip_suffix('%').ok_or_else(bad)?;
        let value: f64 = number.trim().parse().map_err(|_| bad())?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!("invalid percentage `{s}`: it must be zero or more"));
        }
        Ok(Percent(value / 100.0))
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a percentage string such as \"2%\""))?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}%", self.0 * 100.0))
    }
}

/// Formats seconds with a unit chosen so that 3–4 significant digits show (`812.3 µs`, `40.12 ms`).
pub fn format_seconds(secs: f64) -> String {
    if !secs.is_finite() {
        return "-".to_string();
    }
    if secs == 0.0 {
        return "0 s".to_string();
    }
    let abs = secs.abs();
    let (value, unit) = if abs >= 1.0 {
        (secs, "s")
    } else if abs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if abs >= 1e-6 {
        (secs * 1e6, "µs")
    } else {
        (secs * 1e9, "ns")
    };
    format!("{} {unit}", significant(value))
}

/// Formats a byte count with binary units (`2.1 MiB`).
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A size as a parameter reads: whole units when it is a whole number of them (`64 KiB`, `1 MiB`,
/// `100 B`), else one decimal.
pub fn format_size(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 && (value / 1024.0).fract() == 0.0 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format_bytes(bytes)
    }
}

/// A value in a unit.
pub fn format_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Seconds => format_seconds(v),
        Unit::Bytes => format_bytes(v),
        Unit::Count => format_count(v),
        Unit::PerSecond => rate(v, "/s"),
        Unit::BytesPerSecond => format!("{}/s", format_bytes(v)),
        Unit::Ratio => format!("{v:.2}×"),
        Unit::Fraction => format!("{:.1}%", v * 100.0),
    }
}

/// A count, or the mean of counts: one decimal, or two below 1 (`0.02`), so that a rare event
/// does not print as `0.0`.
pub fn format_count(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() < 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// Events per second with an SI prefix: `950/s`, `12.3k/s`, `1.25M/s`.
fn rate(v: f64, suffix: &str) -> String {
    let abs = v.abs();
    let (scaled, prefix) = if abs >= 1e9 {
        (v / 1e9, "G")
    } else if abs >= 1e6 {
        (v / 1e6, "M")
    } else if abs >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = if scaled.abs() >= 100.0 || prefix.is_empty() && scaled.fract() == 0.0 { 0 } else { 1 };
    format!("{scaled:.digits$}{prefix}{suffix}")
}

fn significant(value: f64) -> String {
    let abs = value.abs();
    if abs >= 100.0 {
        format!("{value:.1}")
    } else if abs >= 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_rejects_garbage() {
        assert_eq!("500ms".parse::<UserDuration>().unwrap().0, Duration::from_millis(500));
        assert_eq!("10s".parse::<UserDuration>().unwrap().0, Duration::from_secs(10));
        let err = "3x".parse::<UserDuration>().unwrap_err();
        assert!(err.contains("invalid duration `3x`"), "{err}");
    }

    #[test]
    fn parses_sizes_in_binary_and_decimal_units() {
        assert_eq!("64KiB".parse::<Bytes>().unwrap().0, 64 * 1024);
        assert_eq!("50MiB".parse::<Bytes>().unwrap().0, 50 * 1024 * 1024);
        assert_eq!("1KB".parse::<Bytes>().unwrap().0, 1000);
        assert!("lots".parse::<Bytes>().unwrap_err().contains("invalid size `lots`"));
        let from_int: Bytes = serde_json::from_str("4096").unwrap();
        assert_eq!(from_int.0, 4096);
    }

    #[test]
    fn parses_percentages_as_fractions() {
        assert_eq!("2%".parse::<Percent>().unwrap().0, 0.02);
        assert_eq!("0.5 %".parse::<Percent>().unwrap().0, 0.005);
        assert!("2".parse::<Percent>().unwrap_err().contains("invalid percentage `2`"));
        assert!("-1%".parse::<Percent>().is_err());
    }

    #[test]
    fn formats_with_sensible_units() {
        assert_eq!(format_seconds(0.0008123), "812.3 µs");
        assert_eq!(format_seconds(0.04012), "40.12 ms");
        assert_eq!(format_seconds(1.5), "1.500 s");
        assert_eq!(format_bytes(2.0 * 1024.0 * 1024.0), "2.0 MiB");
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_size(65536.0), "64 KiB");
        assert_eq!(format_size(1048576.0), "1 MiB");
        assert_eq!(format_size(100.0), "100 B");
        assert_eq!(format_size(1500.0), "1500 B", "an exact size stays exact");
    }
}
