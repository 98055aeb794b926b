//! Metrics a measured program reports about itself: the lines it appends to the file named by
//! `COLDBENCH_METRICS` (format in [`crate::self_report`]) read after each run, and the descriptors
//! they declare, held the same from run to run.

use std::path::PathBuf;

use crate::results::{Better, MetricDesc, OrderedMap, Unit};
use crate::self_report::{self, valid_name};

pub use crate::self_report::ENV;

/// One value read from a metrics file, with what its line declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    /// The metric's name.
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
}

/// Without `better=`: rates are better higher, everything else lower.
fn default_better(unit: Unit) -> Better {
    match unit {
        Unit::PerSecond | Unit::BytesPerSecond => Better::Higher,
        _ => Better::Lower,
    }
}

/// Reads the metric lines of one run. Blank lines and lines starting with `#` are skipped. An
/// error names the line by its number and text and says what is wrong with it.
pub fn parse(text: &str, builtin: &[String]) -> Result<Vec<Reported>, String> {
    let mut out: Vec<(usize, Reported)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: String| format!("{ENV} line {}: `{line}`: {why}", i + 1);
        let mut words = line.split_whitespace();
        let first = words.next().expect("a line that is not blank has a word");
        let (name, value) = first.split_once('=').ok_or_else(|| bad("expected `name=value` first".into()))?;
        if !valid_name(name) {
            return Err(bad(format!("`{name}` is not a metric name: use a letter, then letters, digits and `_`")));
        }
        if builtin.iter().any(|b| b == name) {
            return Err(bad(format!(
                "`{name}` is measured by cargo-coldbench itself; report yours under another name"
            )));
        }
        let value: f64 = value.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
            bad(format!("`{value}` is not a number (write it like 1234.5 or 1.2e6, in the metric's unit)"))
        })?;
        let (mut unit_word, mut better_word) = (None, None);
        for word in words {
            match word.split_once('=') {
                Some(("unit", u)) if unit_word.is_none() => unit_word = Some(u),
                Some(("better", b)) if better_word.is_none() => better_word = Some(b),
                Some(("unit" | "better", _)) => return Err(bad(format!("`{word}` is given twice"))),
                _ => return Err(bad(format!("`{word}` is not `unit=…` or `better=…`"))),
            }
        }
        let allowed: Vec<&str> = self_report::Unit::ALL.iter().map(|u| u.as_str()).collect();
        let unit = match unit_word {
            None => Unit::Count,
            Some(word) => self_report::Unit::from_word(word)
                .map(Unit::from)
                .ok_or_else(|| bad(format!("`{word}` is not a unit; use one of {}", allowed.join(", "))))?,
        };
        let better = match better_word {
            None => default_better(unit),
            Some("higher") => Better::Higher,
            Some("lower") => Better::Lower,
            Some(word) => return Err(bad(format!("`better={word}`: write `better=higher` or `better=lower`"))),
        };
        if let Some((first, _)) = out.iter().find(|(_, r)| r.name == name) {
            return Err(bad(format!("`{name}` was already reported on line {} of this run", first + 1)));
        }
        out.push((i, Reported { name: name.to_string(), value, unit, better }));
    }
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// The descriptor of a reported metric: compared by its median in its direction, gating like
/// the wall time, listed under its benchmark's row.
pub fn descriptor(unit: Unit, better: Better) -> MetricDesc {
    MetricDesc { gates: true, reported: true, line: true, ..MetricDesc::new(unit, better) }
}

/// The reported metrics of a benchmark: their descriptors in the order they first appeared, and
/// the metrics file its runs write.
#[derive(Debug, Default)]
pub struct ReportedMetrics {
    /// Descriptors, as the first run that reported each declared it.
    pub metrics: OrderedMap<MetricDesc>,
    dir: Option<tempfile::TempDir>,
    /// The names of the metrics cargo-coldbench measures itself, which a program may not report.
    builtin: Vec<String>,
}

impl ReportedMetrics {
    /// A fresh folder for the metrics file, whose path goes in the program's environment;
    /// `builtin` are the names of the metrics the benchmark measures itself.
    pub fn open(&mut self, builtin: Vec<String>) -> Result<PathBuf, String> {
        self.builtin = builtin;
        let dir = tempfile::Builder::new()
            .prefix("coldbench-metrics-")
            .tempdir()
            .map_err(|e| format!("cannot create a folder for {ENV}: {e}"))?;
        let path = dir.path().join("metrics");
        self.dir = Some(dir);
        Ok(path)
    }

    /// The values of one run from what it wrote to the file (the runner reads it after each run,
    /// see `RunRecord::reported`). A metric whose unit or direction differs from what an earlier
    /// run declared is an error naming both.
    pub fn take(&mut self, written: Option<&Result<String, String>>) -> Result<Vec<(String, f64)>, String> {
        let text = match written {
            None => return Ok(Vec::new()),
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(text)) => text,
        };
        let lines = parse(text, &self.builtin)?;
        let mut values = Vec::with_capacity(lines.len());
        for r in lines {
            let desc = descriptor(r.unit, r.better);
            match self.metrics.get(&r.name) {
                Some(known) if known.unit != r.unit || known.better != r.better => {
                    return Err(format!(
                        "{ENV}: `{}` was reported with unit={} better={} and now with unit={} better={}; a metric \
                         keeps its unit and direction from run to run",
                        r.name,
                        word(known.unit),
                        known.better_word(),
                        word(r.unit),
                        desc.better_word()
                    ));
                }
                Some(_) => {}
                None => {
                    self.metrics.insert(r.name.clone(), desc);
                }
            }
            values.push((r.name, r.value));
        }
        Ok(values)
    }

    /// Removes the folder.
    pub fn close(&mut self) {
        self.dir = None;
    }
}

/// The unit as a metrics line writes it.
fn word(unit: Unit) -> &'static str {
    self_report::Unit::from(unit).as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> Vec<String> {
        vec!["wall".into(), "max_rss".into()]
    }

    #[test]
    fn lines_declare_unit_and_direction_with_defaults() {
        let text =
            "# header\n\nitems_per_second=1.5e3 unit=per_second better=higher\ninit=0.25 unit=seconds\nrows=40\n";
        let r = parse(text, &builtin()).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].name.as_str(), r[0].value, r[0].unit, r[0].better),
            ("items_per_second", 1500.0, Unit::PerSecond, Better::Higher)
        );
        assert_eq!((r[1].unit, r[1].better), (Unit::Seconds, Better::Lower));
        assert_eq!((r[2].unit, r[2].better), (Unit::Count, Better::Lower));
        let rate = parse("bytes_out=10 unit=bytes_per_second", &builtin()).unwrap();
        assert_eq!(rate[0].better, Better::Higher, "a rate without a direction is better higher");
    }

    #[test]
    fn every_unit_the_helper_writes_is_read() {
        for u in self_report::Unit::ALL {
            let line = self_report::Line { name: "m", value: 1.0, unit: u, better: self_report::Better::Lower };
            let read = parse(&line.to_string(), &builtin()).unwrap();
            assert_eq!(word(read[0].unit), u.as_str());
        }
    }

    #[test]
    fn errors_name_the_line_and_what_is_wrong() {
        let err = parse("a=1\nitems=fast unit=per_second", &builtin()).unwrap_err();
        assert!(
            err.starts_with("COLDBENCH_METRICS line 2: `items=fast unit=per_second`: `fast` is not a number"),
            "{err}"
        );
        let cases = [
            ("items 3", "expected `name=value`"),
            ("9items=3", "is not a metric name"),
            ("wall=3", "measured by cargo-coldbench itself"),
            ("x=inf", "is not a number"),
            ("x=1 unit=furlongs", "`furlongs` is not a unit; use one of seconds, bytes"),
            ("x=1 better=sideways", "write `better=higher` or `better=lower`"),
            ("x=1 colour=red", "is not `unit=…` or `better=…`"),
            ("x=1 unit=bytes unit=count", "is given twice"),
            ("x=1\nx=2", "already reported on line 1"),
        ];
        for (text, expected) in cases {
            let err = parse(text, &builtin()).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_metric_keeps_its_unit_from_run_to_run() {
        let mut m = ReportedMetrics::default();
        let path = m.open(builtin()).unwrap();
        assert!(m.take(None).unwrap().is_empty(), "no file: nothing reported");
        let first = Ok("items=10 unit=per_second\n".to_string());
        assert_eq!(m.take(Some(&first)).unwrap(), vec![("items".to_string(), 10.0)]);
        let err = m.take(Some(&Ok("items=10 unit=seconds\n".into()))).unwrap_err();
        assert!(err.contains("unit=per_second better=higher and now with unit=seconds better=lower"), "{err}");
        let unreadable = Err("cannot read COLDBENCH_METRICS (/x): denied".to_string());
        assert_eq!(m.take(Some(&unreadable)).unwrap_err(), "cannot read COLDBENCH_METRICS (/x): denied");
        std::fs::write(&path, "x").unwrap();
        m.close();
        assert!(!path.parent().unwrap().exists(), "the folder is removed");
    }
}
