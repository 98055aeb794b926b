//! `budget` tables: each key names a metric of the entry's kind (`max-rss`, `mapped-libs`), or
//! bounds one with `min-`/`max-` (`min-throughput = "100k/s"`), or is `median` (the headline
//! metric's median); the value is read in the metric's unit.

use crate::discover::config::{config_error, RawBudget};
use crate::error::UserError;
use crate::results::{fact_metrics, Better, Bound, Limit, MetricDesc, OrderedMap, Stat, Unit};
use crate::units::{Bytes, UserDuration};

/// The limits of a `budget` table for an entry whose kind declares `metrics`; `key` is the entry's
/// key path and `kind` its table name, for messages.
pub fn limits(
    budget: &RawBudget,
    metrics: &OrderedMap<MetricDesc>,
    key: &str,
    kind: &str,
    manifest: &std::path::Path,
) -> Result<Vec<Limit>, UserError> {
    let mut out = Vec::new();
    for (name, value) in budget {
        let path = format!("{key}.budget.{name}");
        let (metric, bound, stat) = resolve(name, metrics).ok_or_else(|| {
            config_error(
                path.clone(),
                manifest,
                format!("`{name}` is not a budget of [[{kind}]] entries; they take {}", allowed(metrics)),
            )
        })?;
        let desc = metrics.get(&metric).expect("resolved among the metrics");
        let limit = read_value(value, desc.unit).map_err(|e| config_error(path, manifest, e))?;
        out.push(Limit { metric, stat, bound, value: limit });
    }
    Ok(out)
}

/// The metric, bound and statistic a budget key names.
fn resolve(key: &str, metrics: &OrderedMap<MetricDesc>) -> Option<(String, Bound, Stat)> {
    let find = |name: &str| {
        let snake = name.replace('-', "_");
        [snake.clone(), format!("{}{snake}", fact_metrics::PREFIX)].into_iter().find(|n| metrics.contains_key(n))
    };
    let natural = |desc: &MetricDesc| if desc.better == Better::Higher { Bound::Min } else { Bound::Max };
    if key == "median" {
        let (name, _) = metrics.iter().find(|(_, d)| d.compare != crate::results::Location::Exact)?;
        return Some((name.to_string(), Bound::Max, Stat::Median));
    }
    if let Some(name) = find(key) {
        let desc = metrics.get(&name)?;
        return Some((name, natural(desc), desc.shown_stat()));
    }
    let (bound, rest) = match key.split_once('-')? {
        ("min", rest) => (Bound::Min, rest),
        ("max", rest) => (Bound::Max, rest),
        _ => return None,
    };
    let name = find(rest)?;
    let stat = metrics.get(&name)?.shown_stat();
    Some((name, bound, stat))
}

/// "median, wall, user, ..., min-/max- before any of them".
fn allowed(metrics: &OrderedMap<MetricDesc>) -> String {
    let names: Vec<String> =
        metrics.keys().map(|n| n.trim_start_matches(fact_metrics::PREFIX).replace('_', "-")).collect();
    format!("median, {} (or one of them after `min-` or `max-`)", names.join(", "))
}

/// A limit in the metric's unit: a duration string or seconds, a size, a count, a rate
/// (`"100k/s"`, `"50MiB/s"`) or a number.
fn read_value(value: &serde_json::Value, unit: Unit) -> Result<f64, String> {
    let number = value.as_f64();
    let text = value.as_str();
    match (unit, number, text) {
        (Unit::Seconds, Some(n), _) if n >= 0.0 => Ok(n),
        (Unit::Seconds, _, Some(t)) => t.parse::<UserDuration>().map(|d| d.0.as_secs_f64()),
        (Unit::Bytes, Some(n), _) if n >= 0.0 => Ok(n),
        (Unit::Bytes, _, Some(t)) => t.parse::<Bytes>().map(|b| b.0 as f64),
        (Unit::BytesPerSecond, Some(n), _) if n >= 0.0 => Ok(n),
        (Unit::BytesPerSecond, _, Some(t)) => {
            let size = t.trim().strip_suffix("/s").ok_or_else(|| bad_rate(t))?;
            size.parse::<Bytes>().map(|b| b.0 as f64).map_err(|_| bad_rate(t))
        }
        (Unit::PerSecond, Some(n), _) if n >= 0.0 => Ok(n),
        (Unit::PerSecond, _, Some(t)) => per_second(t),
        (Unit::Count | Unit::Ratio, Some(n), _) if n >= 0.0 => Ok(n),
        (Unit::Count, _, _) => Err(format!("expected a count, such as 40, not {value}")),
        (Unit::Ratio, _, _) => Err(format!("expected a number, such as 2.0, not {value}")),
        (Unit::Fraction, Some(n), _) if (0.0..=1.0).contains(&n) => Ok(n),
        (Unit::Fraction, _, Some(t)) => t
            .trim()
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p))
            .map(|p| p / 100.0)
            .ok_or_else(|| format!("expected a percentage, such as \"90%\", not {value}")),
        (Unit::Fraction, _, _) => Err(format!("expected a percentage, such as \"90%\", not {value}")),
        _ => Err(format!("expected a value of {unit:?} (a number or a string), not {value}")),
    }
}

fn bad_rate(text: &str) -> String {
    format!("invalid rate `{text}`; write it like \"100MiB/s\"")
}

/// `"100k/s"`, `"2.5M/s"`, `"1500/s"`, `"1500"`: events per second.
fn per_second(text: &str) -> Result<f64, String> {
    let bad = || format!("invalid rate `{text}`; write it like \"100k/s\" or \"1500/s\"");
    let t = text.trim();
    let t = t.strip_suffix("/s").unwrap_or(t).trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'M')) => (&t[..i], 1e6),
        Some((i, 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    let n: f64 = number.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    Ok(n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Location;
    use serde_json::json;
    use std::path::Path;

    fn metrics() -> OrderedMap<MetricDesc> {
        let mut m = OrderedMap::new();
        m.insert("time", MetricDesc::new(Unit::Seconds, Better::Lower));
        m.insert("max_rss", MetricDesc { stat: Some(Stat::Max), ..MetricDesc::new(Unit::Bytes, Better::Lower) });
        m.insert("throughput", MetricDesc::new(Unit::PerSecond, Better::Higher));
        m.insert(
            "facts.mapped_libs",
            MetricDesc { compare: Location::Exact, ..MetricDesc::new(Unit::Count, Better::Lower) },
        );
        m
    }

    fn read(budget: serde_json::Value) -> Result<Vec<Limit>, UserError> {
        let raw: RawBudget = serde_json::from_value(budget).unwrap();
        limits(&raw, &metrics(), "package.metadata.bench.start[0]", "start", Path::new("/ws/Cargo.toml"))
    }

    fn key_of(err: UserError) -> String {
        match err {
            UserError::Config { key, .. } => key,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_name_metrics_bounds_and_units() {
        let l = read(json!({ "median": "300ms", "max-rss": "50MiB", "mapped-libs": 20, "min-throughput": "100k/s" }))
            .unwrap();
        let find = |m: &str| l.iter().find(|x| x.metric == m).unwrap().clone();
        assert_eq!(find("time"), Limit { metric: "time".into(), stat: Stat::Median, bound: Bound::Max, value: 0.3 });
        assert_eq!((find("max_rss").stat, find("max_rss").value), (Stat::Max, 50.0 * 1024.0 * 1024.0));
        assert_eq!(find("facts.mapped_libs").value, 20.0);
        assert_eq!((find("throughput").bound, find("throughput").value), (Bound::Min, 100_000.0));
        // A higher-is-better metric named alone is a minimum.
        assert_eq!(read(json!({ "throughput": 5 })).unwrap()[0].bound, Bound::Min);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_their_path() {
        let err = read(json!({ "modules": 3 })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[0].budget.modules");
        let err = read(json!({ "max-rss": "huge" })).unwrap_err();
        assert!(err.to_string().contains("invalid size `huge`"), "{err}");
        assert_eq!(
            key_of(read(json!({ "max-rss": "huge" })).unwrap_err()),
            "package.metadata.bench.start[0].budget.max-rss"
        );
        assert!(read(json!({ "min-throughput": "fast" })).unwrap_err().to_string().contains("invalid rate `fast`"));
        assert!(read(json!({ "mapped-libs": "many" })).is_err());
    }

    #[test]
    fn rates_read_with_their_suffixes() {
        assert_eq!(per_second("100k/s").unwrap(), 100_000.0);
        assert_eq!(per_second("2.5M/s").unwrap(), 2_500_000.0);
        assert_eq!(per_second("1500").unwrap(), 1500.0);
        assert!(per_second("-3/s").is_err());
    }
}
