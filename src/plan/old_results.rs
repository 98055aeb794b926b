//! Files written before results carried metric descriptors: their metrics are described from the
//! kinds that wrote them (`Kind::old_result_metrics`), so that `diff`, `report` and `--baseline`
//! read them like new ones.

use super::Registry;
use crate::results::{fact_metrics, BenchmarkResult, Compared, Location, RunDocument};

/// Describes the metrics of every benchmark that has none, and the compared location of every
/// comparison row that lacks it.
pub fn upgrade(doc: &mut RunDocument, kinds: &Registry) {
    for b in doc.benchmarks.iter_mut() {
        upgrade_benchmark(b, kinds);
    }
    if let Some(cmp) = doc.comparison.as_mut() {
        for b in cmp.baseline_benchmarks.iter_mut() {
            upgrade_benchmark(b, kinds);
        }
        for row in cmp.rows.iter_mut().filter(|r| r.location.is_none()) {
            let desc = doc
                .benchmarks
                .iter()
                .find(|b| b.id == row.id)
                .and_then(|b| b.metrics.get(&row.metric).map(|d| d.compare));
            row.location = match desc {
                Some(Location::Median) => Some(Compared::Median),
                Some(Location::Mean) => Some(Compared::Mean),
                _ => None,
            };
        }
    }
}

fn upgrade_benchmark(b: &mut BenchmarkResult, kinds: &Registry) {
    if !b.metrics.is_empty() {
        return;
    }
    let Some(all) = kinds.get(&b.kind).and_then(|k| k.old_result_metrics()) else { return };
    let f = &b.facts;
    let count = |v: &Option<Vec<String>>| v.as_ref().map(|l| l.len() as f64);
    let facts: [(&str, Option<f64>); 6] = [
        (fact_metrics::MAPPED_LIBS, f.mapped_libs.map(|n| n as f64)),
        (fact_metrics::BINARY_BYTES, f.binary_bytes.map(|n| n as f64)),
        (fact_metrics::RELOCATIONS, f.relocations.as_ref().map(|r| (r.relative + r.symbolic + r.plt) as f64)),
        (fact_metrics::IMPORTED_MODULES, f.imported_modules.map(|n| n as f64)),
        (fact_metrics::FORBIDDEN_LOADED, count(&f.forbidden_loaded)),
        (fact_metrics::FORBIDDEN_IMPORTED, count(&f.forbidden_imported)),
    ];
    for (name, value) in facts {
        if let Some(v) = value {
            b.values.insert(name.to_string(), v);
        }
    }
    b.metrics = all
        .iter()
        .filter(|(name, _)| b.samples.contains_key(*name) || b.values.contains_key(*name))
        .map(|(name, desc)| (name.to_string(), desc.clone()))
        .collect();
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_without_descriptors_reads_like_a_new_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json");
        let mut doc = crate::results::read(&path).unwrap();
        assert!(doc.benchmarks.iter().all(|b| b.metrics.is_empty()), "the fixture predates descriptors");
        super::upgrade(&mut doc, &crate::plan::Registry::builtin());
        let b = &doc.benchmarks[0];
        let (headline, desc) = b.headline().unwrap();
        assert_eq!((b.kind.as_str(), desc.gates), ("start", true));
        assert!(b.samples.contains_key(headline));
        assert_eq!(b.metrics.get("user").unwrap().compare, crate::results::Location::Mean);
        let cmp = doc.comparison.as_ref().unwrap();
        let sampled = cmp.rows.iter().filter(|r| r.metric != "status" && !r.metric.starts_with("facts."));
        assert!(sampled.clone().count() > 0);
        assert!(sampled.clone().all(|r| r.location.is_some()), "{:?}", cmp.rows);
    }
}
