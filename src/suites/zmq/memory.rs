//! A server's memory through a row: its resident set size when ready and after every round, the
//! growth per 10 000 requests, and the warning when it grew in every round as a leak does.

use crate::measure::bench::FactsReport;
use crate::units::format_bytes;

/// Requests a growth is given per.
pub const PER: u64 = 10_000;

/// How much the resident set grew from `before` to `after` per [`PER`] requests, over `requests`;
/// `None` without requests. Negative when it shrank.
pub fn per_10k(before: u64, after: u64, requests: u64) -> Option<f64> {
    (requests > 0).then(|| (after as f64 - before as f64) * PER as f64 / requests as f64)
}

/// Memory that grew in every measured round, and steadily (a leak grows with the work; buffers
/// filling up as load peaks grow by ever smaller steps), by at least 1 MiB in all: `(before the
/// first measured round, after the last)`. Each sample is the server's RSS and the requests it
/// handled in the round before (the first, when it was ready, has none); warmup rounds first.
pub fn growth(samples: &[(u64, u64)], warmups: usize) -> Option<(u64, u64)> {
    let measured = samples.get(warmups..)?;
    if measured.len() < 3 {
        return None;
    }
    let (first, last) = (measured[0].0, measured.last()?.0);
    if measured.windows(2).any(|w| w[1].0 <= w[0].0) || last - first < 1 << 20 {
        return None;
    }
    // Growth per request in each round: steady when no round's is under half the largest, and
    // the last is not much under the first.
    let rates: Vec<f64> = measured.windows(2).map(|w| (w[1].0 - w[0].0) as f64 / w[1].1.max(1) as f64).collect();
    let most = rates.iter().copied().fold(0.0, f64::max);
    let steady = rates.iter().all(|r| r * 2.0 >= most) && rates[rates.len() - 1] * 4.0 >= rates[0] * 3.0;
    steady.then_some((first, last))
}

/// Adds to `report` the server's memory through the rounds: when it was ready and after the last
/// round; at the start, middle and end of the measured rounds, with the growth per 10 000
/// requests over them; and the warning when it grew as a leak does. `samples` as for [`growth`].
pub fn report(samples: &[(u64, u64)], warmups: usize, report: &mut FactsReport) {
    let (Some((first, _)), Some((last, _))) = (samples.first(), samples.last()) else { return };
    let facts = &mut report.facts.other;
    facts.insert("server_rss_when_ready_bytes".into(), (*first).into());
    facts.insert("server_rss_after_last_round_bytes".into(), (*last).into());
    let measured = samples.get(warmups..).filter(|m| m.len() >= 2);
    let grown = measured.and_then(|m| {
        let requests: u64 = m[1..].iter().map(|(_, n)| n).sum();
        let (start, middle, end) = (m[0].0, m[m.len() / 2].0, m[m.len() - 1].0);
        facts.insert(
            "server_rss_through_rounds_bytes".into(),
            serde_json::json!({ "start": start, "middle": middle, "end": end }),
        );
        let grown = per_10k(start, end, requests)?;
        facts.insert("server_rss_growth_per_10k_requests_bytes".into(), grown.round().into());
        Some(grown)
    });
    if let Some((first, last)) = growth(samples, warmups) {
        let per = grown.map(|g| format!(", +{} per 10 000 requests", format_bytes(g))).unwrap_or_default();
        report.warnings.push(format!(
            "the server's memory grew after every round ({} → {}{per}): a possible leak; run more rounds \
             (`iterations`) to be sure",
            format_bytes(first as f64),
            format_bytes(last as f64)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_that_grows_every_round_is_flagged() {
        const MIB: u64 = 1 << 20;
        // The same number of requests in every round.
        let even = |rss: &[u64]| -> Vec<(u64, u64)> {
            rss.iter().enumerate().map(|(i, r)| (*r, if i == 0 { 0 } else { 1000 })).collect()
        };
        // Ready, a warmup, three measured rounds.
        assert_eq!(growth(&even(&[6 * MIB, 10 * MIB, 11 * MIB, 12 * MIB, 13 * MIB]), 1), Some((10 * MIB, 13 * MIB)));
        // The warmup's growth is not counted: steady afterwards.
        assert_eq!(growth(&even(&[6 * MIB, 12 * MIB, 12 * MIB, 12 * MIB, 12 * MIB]), 1), None);
        // Buffers warming up: growth that dies away, fast or slowly.
        assert_eq!(growth(&even(&[6 * MIB, 8 * MIB, 11 * MIB, 11 * MIB + 4096, 11 * MIB + 8192]), 1), None);
        assert_eq!(growth(&even(&[6 * MIB, 10_461_184, 11_177_984, 11_583_488, 11_935_744]), 1), None);
        // Growing, but by a few pages only.
        assert_eq!(growth(&even(&[6 * MIB, 10 * MIB, 10 * MIB + 4096, 10 * MIB + 8192, 10 * MIB + 12288]), 1), None);
        // A leak in a round that did less work grew less: per request it is as steady as ever.
        let uneven = [(6 * MIB, 0), (10 * MIB, 1000), (12 * MIB, 1000), (13 * MIB, 500), (15 * MIB, 1000)];
        assert_eq!(growth(&uneven, 1), Some((10 * MIB, 15 * MIB)));
        // Too few rounds to tell.
        assert_eq!(growth(&even(&[6 * MIB, 10 * MIB, 20 * MIB]), 1), None);
    }

    #[test]
    fn growth_is_reported_per_10k_requests_through_the_measured_rounds() {
        const MIB: u64 = 1 << 20;
        assert_eq!(per_10k(MIB, 2 * MIB, 5000), Some(2.0 * MIB as f64));
        assert_eq!(per_10k(2 * MIB, MIB, 10_000), Some(-(MIB as f64)));
        assert_eq!(per_10k(MIB, 2 * MIB, 0), None);
        // Ready, a warmup, four measured rounds of 1000 requests growing by 1 MiB each.
        let samples: Vec<(u64, u64)> =
            [6, 10, 11, 12, 13, 14].iter().enumerate().map(|(i, m)| (m * MIB, if i == 0 { 0 } else { 1000 })).collect();
        let mut r = FactsReport::default();
        report(&samples, 1, &mut r);
        let facts = &r.facts.other;
        assert_eq!(facts["server_rss_when_ready_bytes"], 6 * MIB);
        assert_eq!(
            facts["server_rss_through_rounds_bytes"],
            serde_json::json!({ "start": 10 * MIB, "middle": 12 * MIB, "end": 14 * MIB })
        );
        assert_eq!(facts["server_rss_growth_per_10k_requests_bytes"], serde_json::json!((10 * MIB) as f64));
        assert_eq!(r.warnings.len(), 1);
        assert!(
            r.warnings[0].starts_with(
                "the server's memory grew after every round (10.0 MiB → 14.0 MiB, +10.0 MiB per 10 000 requests)"
            ),
            "{}",
            r.warnings[0]
        );
        // Steady memory: the figures, and no warning.
        let steady: Vec<(u64, u64)> = samples.iter().map(|(_, n)| (8 * MIB, *n)).collect();
        let mut r = FactsReport::default();
        report(&steady, 1, &mut r);
        assert_eq!(r.facts.other["server_rss_growth_per_10k_requests_bytes"], serde_json::json!(0.0));
        assert!(r.warnings.is_empty());
    }
}
