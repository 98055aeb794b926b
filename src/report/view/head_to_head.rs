//! Head-to-head: start entries measured against their `reference` (a rewrite against the
//! implementation it replaces): per pair its speedups, and over all pairs the geometric mean of
//! each speedup and the mean memory saved.

use crate::analysis::speedup::{self, geometric_mean};
use crate::results::{BenchmarkResult, MetricDesc, RunDocument, Speedup, Status, Unit};

/// One benchmark against its reference.
pub struct Pair {
    /// The benchmark's id.
    pub id: String,
    /// Its reference's id.
    pub reference: String,
    /// Whether the two ran interleaved.
    pub interleaved: bool,
    /// Per metric: its name, descriptor and speedup, in the benchmark's metric order.
    pub speedups: Vec<(String, MetricDesc, Speedup)>,
}

impl Pair {
    /// `python-baseline` for a reference in the same package, else its id.
    pub fn reference_name(&self) -> &str {
        short_name(&self.id, &self.reference)
    }
}

/// Every head-to-head pair of a run, and what they say together.
pub struct HeadToHead {
    /// The pairs, in the run's order.
    pub pairs: Vec<Pair>,
    /// Per metric over all pairs: "wall time: 6.1× faster (5.0×–7.2×), geometric mean of 4 pairs".
    pub summary: Vec<String>,
}

/// The name of `reference` as seen from `id`: the entry's name when both are in one package.
pub(crate) fn short_name<'a>(id: &str, reference: &'a str) -> &'a str {
    let package = |s: &str| s.rsplit_once('/').map(|(p, _)| p.to_string());
    match (package(id), package(reference)) {
        (Some(a), Some(b)) if a == b => reference.rsplit_once('/').map_or(reference, |(_, n)| n),
        _ => reference,
    }
}

/// The pair of a benchmark, when it ran against a reference as a head-to-head.
pub fn pair(b: &BenchmarkResult) -> Option<Pair> {
    let reference = b.reference.as_ref().filter(|r| !r.speedups.is_empty())?;
    if b.status != Status::Ok {
        return None;
    }
    let speedups = reference
        .speedups
        .iter()
        .filter_map(|(name, s)| Some((name.to_string(), b.metrics.get(name)?.clone(), *s)))
        .collect();
    Some(Pair { id: b.id.clone(), reference: reference.id.clone(), interleaved: reference.interleaved, speedups })
}

/// "5.2× faster wall time (4.9×–5.5×), 71% less peak RSS (68–74%) than python-baseline
/// (interleaved)".
pub fn note(pair: &Pair) -> String {
    let parts: Vec<String> =
        pair.speedups.iter().map(|(name, desc, s)| speedup::describe(s, desc, desc.label_or(name))).collect();
    let how = if pair.interleaved { "interleaved" } else { "measured apart" };
    format!("{} than {} ({how})", parts.join(", "), pair.reference_name())
}

/// The head-to-head pairs of a document and their summary; `None` when it has none.
pub fn build(doc: &RunDocument) -> Option<HeadToHead> {
    let pairs: Vec<Pair> = doc.benchmarks.iter().filter_map(pair).collect();
    if pairs.is_empty() {
        return None;
    }
    let mut metrics: Vec<(&str, &MetricDesc)> = Vec::new();
    for (name, desc, _) in pairs.iter().flat_map(|p| &p.speedups) {
        if !metrics.iter().any(|(n, _)| n == name) {
            metrics.push((name, desc));
        }
    }
    let plural = |n: usize| if n == 1 { "1 pair".to_string() } else { format!("{n} pairs") };
    let summary = metrics
        .into_iter()
        .filter_map(|(name, desc)| {
            let all: Vec<Speedup> =
                pairs.iter().flat_map(|p| &p.speedups).filter(|(n, _, _)| n == name).map(|(_, _, s)| *s).collect();
            let label = desc.label_or(name);
            if desc.unit == Unit::Bytes {
                // Memory saved is a share of the reference's: its mean reads directly.
                let saved = |f: f64| 1.0 - 1.0 / f;
                let mean = |f: &dyn Fn(&Speedup) -> f64| all.iter().map(f).sum::<f64>() / all.len() as f64 * 100.0;
                let (point, lo, hi) =
                    (mean(&|s| saved(s.factor)), mean(&|s| saved(s.ci95[0])), mean(&|s| saved(s.ci95[1])));
                let (word, point, lo, hi) =
                    if point >= 0.0 { ("less", point, lo, hi) } else { ("more", -point, -hi, -lo) };
                return Some(format!("{label}: {point:.0}% {word} ({lo:.0}–{hi:.0}%), mean of {}", plural(all.len())));
            }
            let gm = geometric_mean(&all)?;
            let text = speedup::describe(&gm, desc, "");
            // "6.1× faster  (5.0×–7.2×)" without the label in the middle.
            Some(format!("{label}: {}, geometric mean of {}", text.replace("  (", " ("), plural(all.len())))
        })
        .collect();
    Some(HeadToHead { pairs, summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_in_the_same_package_go_by_their_name() {
        assert_eq!(short_name("start/p/rust", "start/p/python-baseline"), "python-baseline");
        assert_eq!(short_name("start/p/rust", "start/q/python-baseline"), "start/q/python-baseline");
    }
}
