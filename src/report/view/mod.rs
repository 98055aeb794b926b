//! What a result says, built once for every report: per benchmark its status, headline statistics,
//! table cells, notes and facts; per comparison its rows, verdict words and summary lines. The
//! console, Markdown, HTML and exports render this; none of them decides a verdict or a headline
//! metric of its own.

pub mod candidates;
mod comparison;
pub mod head_to_head;
pub mod profile;
mod sweep;

pub use candidates::Candidates;
pub use comparison::{percent_text, Change, CompareRow, ComparisonView};
pub use head_to_head::HeadToHead;
pub use sweep::Sweep;

use super::format::{self, change_percent, signed_percent};
use crate::results::{BenchmarkResult, Checked, MetricDesc, RunDocument, Status, Unit};

/// A result, ready to render.
pub struct View<'a> {
    /// The document.
    pub doc: &'a RunDocument,
    /// One table per set of columns (kinds that show the same metrics share one), in order of
    /// first appearance.
    pub tables: Vec<Table>,
    /// How many benchmarks ended how.
    pub tally: Tally,
    /// The comparison, when the run made one (the first candidate's, with several).
    pub comparison: Option<ComparisonView<'a>>,
    /// With several candidates: all of them against the baseline, one table.
    pub candidates: Option<Candidates<'a>>,
    /// Per group of parameterised benchmarks, its headline metric against a parameter.
    pub sweeps: Vec<Sweep>,
    /// Lines the console ends with: per table, its best row in a metric declared `best`.
    pub highlights: Vec<String>,
    /// Start entries against their references, when the run has any.
    pub head_to_head: Option<HeadToHead>,
}

/// The rows of the kinds of benchmark that show the same columns, or of one group of
/// parameterised benchmarks (`zmq/svc/throughput`), which gets a table of its own.
pub struct Table {
    /// The kinds, joined with `, `; or the group.
    pub kind: String,
    /// The names of the parameters, for a group's table: each row shows its values instead of
    /// its id.
    pub params: Vec<String>,
    /// Titles of the columns after the headline statistics.
    pub columns: Vec<String>,
    /// Which of them compact tables show too.
    pub compact: Vec<bool>,
    /// Its rows.
    pub rows: Vec<Row>,
}

/// One benchmark.
pub struct Row {
    /// Its id.
    pub id: String,
    /// Its parameters' values, in the order of its table's `params`.
    pub params: Vec<String>,
    /// How it compares with the benchmark it is measured against (a user's server against the
    /// built-in one).
    pub reference: Option<String>,
    /// `ok`, `over budget`, `failed: …`, `skipped: …`.
    pub status: String,
    /// `ok`, `over-budget`, `failed`, `skipped` (a CSS class, a colour).
    pub status_class: &'static str,
    /// Measured runs.
    pub runs: usize,
    /// The headline metric's statistics, when it was measured.
    pub headline: Option<Headline>,
    /// One cell per column of its table (`-` where it has nothing).
    pub cells: Vec<String>,
    /// The metrics listed under the row (`dlopen 1.2 ms, init 3 µs`).
    pub line: Option<String>,
    /// The headline's two modes, when it has them: `two modes: 1.02 ms (52%), 1.32 ms (48%)`.
    pub modes: Option<String>,
    /// What ran when no configuration entry asked for it.
    pub default_note: Option<String>,
    /// The full command line, with the environment it added.
    pub command: Option<String>,
    /// Budgets exceeded and lazy-loading checks that failed.
    pub budget_notes: Vec<String>,
    /// Whether the headline statistic is over a budget.
    pub headline_over: bool,
    /// Titles of columns whose value is over a budget.
    pub columns_over: Vec<String>,
    /// Files that stayed in the page cache after eviction.
    pub residency_note: Option<String>,
    /// The last lines of stderr of a failed run.
    pub detail: Vec<String>,
    /// Warnings about the samples.
    pub warnings: Vec<String>,
    /// The facts behind the number, as label and value.
    pub facts: Vec<(String, String)>,
    /// A Python import's slowest imports: `json 2.100 ms (own 400.0 µs) ← fixture_pkg`.
    pub slowest_imports: Vec<String>,
    /// A start's profile (`--measure profile`).
    pub profile: Option<profile::ProfileView>,
}

/// The statistics of a benchmark's headline metric.
pub struct Headline {
    /// The metric.
    pub metric: String,
    /// Its descriptor.
    pub desc: MetricDesc,
    /// Median, mean, standard deviation, min and max, raw.
    pub raw: [f64; 5],
    /// The same, formatted in the metric's unit.
    pub text: [String; 5],
}

/// How many benchmarks ended how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Benchmarks.
    pub total: usize,
    /// Ok and within budget.
    pub ok: usize,
    /// Ok but over a budget.
    pub over: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
}

/// Builds the view of a document.
pub fn build(doc: &RunDocument) -> View<'_> {
    let mut tables: Vec<Table> = Vec::new();
    for b in &doc.benchmarks {
        let grouped = !b.params.is_empty();
        let index = if grouped {
            match tables.iter().position(|t| !t.params.is_empty() && t.kind == b.group()) {
                Some(i) => i,
                None => {
                    let members: Vec<&BenchmarkResult> =
                        doc.benchmarks.iter().filter(|o| o.group() == b.group()).collect();
                    let (columns, compact) = columns_of(&members).into_iter().unzip();
                    let mut params: Vec<String> = Vec::new();
                    for name in members.iter().flat_map(|m| m.params.iter().map(|(n, _)| n)) {
                        if !params.iter().any(|p| p == name) {
                            params.push(name.to_string());
                        }
                    }
                    tables.push(Table { kind: b.group().to_string(), params, columns, compact, rows: Vec::new() });
                    tables.len() - 1
                }
            }
        } else {
            let members: Vec<&BenchmarkResult> =
                doc.benchmarks.iter().filter(|o| o.kind == b.kind && o.params.is_empty()).collect();
            let (columns, compact): (Vec<String>, Vec<bool>) = columns_of(&members).into_iter().unzip();
            match tables.iter().position(|t| t.params.is_empty() && t.columns == columns) {
                Some(i) => i,
                None => {
                    tables.push(Table { kind: String::new(), params: Vec::new(), columns, compact, rows: Vec::new() });
                    tables.len() - 1
                }
            }
        };
        let table = &mut tables[index];
        if !grouped && !table.kind.split(", ").any(|k| k == b.kind) {
            table.kind = if table.kind.is_empty() { b.kind.clone() } else { format!("{}, {}", table.kind, b.kind) };
        }
        let mut row = row(b, &tables[index].columns);
        row.params = tables[index]
            .params
            .iter()
            .map(|name| b.params.get(name).map_or_else(|| "-".to_string(), |v| param_text(b, name, v)))
            .collect();
        tables[index].rows.push(row);
    }
    let count = |f: &dyn Fn(&BenchmarkResult) -> bool| doc.benchmarks.iter().filter(|b| f(b)).count();
    let tally = Tally {
        total: doc.benchmarks.len(),
        ok: count(&|b| b.status == Status::Ok && !b.over_budget()),
        over: count(&|b| b.status == Status::Ok && b.over_budget()),
        failed: count(&|b| b.status == Status::Failed),
        skipped: count(&|b| b.status == Status::Skipped),
    };
    let highlights = highlights(doc, &tables);
    View {
        doc,
        tables,
        tally,
        comparison: comparison::comparison(doc),
        candidates: candidates::candidates(doc),
        sweeps: sweep::sweeps(doc),
        highlights,
        head_to_head: head_to_head::build(doc),
    }
}

/// Per table of rows with parameters, its best measured row in a headline metric declared
/// `best` (the statistic tables show): "fastest call through a worker: method=small_int … at
/// 48.1 µs (in-process 113 ns, overhead 48.0 µs)", the row's compact columns in brackets.
fn highlights(doc: &RunDocument, tables: &[Table]) -> Vec<String> {
    let mut out = Vec::new();
    for table in tables.iter().filter(|t| !t.params.is_empty()) {
        let candidates = doc.benchmarks.iter().filter(|b| b.status == Status::Ok && b.group() == table.kind);
        let best = candidates
            .filter_map(|b| {
                let (name, desc) = b.headline().filter(|(_, d)| d.best)?;
                Some((shown(b, name, desc)?, b, name, desc))
            })
            .reduce(|a, b| {
                let b_better = if a.3.better == crate::results::Better::Higher { b.0 > a.0 } else { b.0 < a.0 };
                if b_better {
                    b
                } else {
                    a
                }
            });
        let Some((value, b, name, desc)) = best else { continue };
        let Some(row) = table.rows.iter().find(|r| r.id == b.id) else { continue };
        let word =
            if desc.unit == Unit::Seconds && desc.better == crate::results::Better::Lower { "fastest" } else { "best" };
        let who: Vec<String> = table.params.iter().zip(&row.params).map(|(n, v)| format!("{n}={v}")).collect();
        let extra: Vec<String> = table
            .columns
            .iter()
            .zip(&table.compact)
            .zip(&row.cells)
            .filter(|((_, compact), cell)| **compact && cell.as_str() != "-")
            .map(|((title, _), cell)| format!("{title} {cell}"))
            .collect();
        let head = format!("{word} {}: {} at {}", desc.label_or(name), who.join(" "), format::value(desc.unit, value));
        out.push(if extra.is_empty() { head } else { format!("{head} ({})", extra.join(", ")) });
    }
    out
}

/// A parameter's value for people: `64 B`, `10`, `req-rep`.
pub fn param_text(b: &BenchmarkResult, name: &str, value: &serde_json::Value) -> String {
    match (value, b.param_units.get(name)) {
        (serde_json::Value::String(s), _) => s.clone(),
        (v, Some(Unit::Bytes)) if v.is_number() => crate::units::format_size(v.as_f64().unwrap_or(0.0)),
        (v, Some(unit)) if v.is_number() => format::value(*unit, v.as_f64().unwrap_or(0.0)),
        (v, _) => v.to_string(),
    }
}

/// The column titles of some benchmarks' metrics, in declared order, each once, and whether
/// compact tables show them.
fn columns_of(members: &[&BenchmarkResult]) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for b in members {
        for (_, desc) in b.metrics.iter() {
            if let Some(title) = &desc.column {
                match out.iter_mut().find(|(t, _)| t == title) {
                    Some((_, compact)) => *compact |= desc.compact,
                    None => out.push((title.clone(), desc.compact)),
                }
            }
        }
    }
    out
}

fn status_of(b: &BenchmarkResult) -> (String, &'static str) {
    match b.status {
        Status::Ok if b.over_budget() => ("over budget".into(), "over-budget"),
        Status::Ok => ("ok".into(), "ok"),
        Status::Failed => (format!("failed: {}", b.reason.as_deref().unwrap_or("unknown")), "failed"),
        Status::Skipped => (format!("skipped: {}", b.reason.as_deref().unwrap_or("unknown")), "skipped"),
    }
}

/// The statistic of a metric that tables and budgets show.
fn shown(b: &BenchmarkResult, name: &str, desc: &MetricDesc) -> Option<f64> {
    b.summary.get(name).map(|s| s.stat(desc.shown_stat())).or_else(|| b.values.get(name).copied())
}

fn row(b: &BenchmarkResult, columns: &[String]) -> Row {
    let (status, status_class) = status_of(b);
    let ok = b.status == Status::Ok;
    let headline = b.headline().filter(|_| ok).and_then(|(name, desc)| {
        let s = b.summary.get(name)?;
        let raw = [s.median, s.mean, s.stddev, s.min, s.max];
        let text = raw.map(|v| format::value(desc.unit, v));
        Some(Headline { metric: name.to_string(), desc: desc.clone(), raw, text })
    });
    let over: Vec<&str> = b.budget.iter().filter(|c| !c.ok).map(|c| c.metric.as_str()).collect();
    let cells = columns
        .iter()
        .map(|title| {
            let parts: Vec<String> = b
                .metrics
                .iter()
                .filter(|(_, d)| d.column.as_deref() == Some(title))
                .filter_map(|(name, d)| shown(b, name, d).map(|v| format::value(d.unit, v)))
                .collect();
            if parts.is_empty() || !ok {
                "-".to_string()
            } else {
                parts.join("/")
            }
        })
        .collect();
    let columns_over = columns
        .iter()
        .filter(|title| b.metrics.iter().any(|(n, d)| d.column.as_deref() == Some(title.as_str()) && over.contains(&n)))
        .cloned()
        .collect();
    let line_parts: Vec<String> = b
        .metrics
        .iter()
        .filter(|(_, d)| d.line)
        .filter_map(|(name, d)| Some(format!("{} {}", d.label_or(name), format::value(d.unit, shown(b, name, d)?))))
        .collect();
    Row {
        id: b.id.clone(),
        params: Vec::new(),
        reference: reference_note(b),
        status,
        status_class,
        runs: b.headline().and_then(|(n, _)| b.samples.get(n)).map_or(0, |s| s.len()),
        headline_over: b.headline().is_some_and(|(n, _)| over.contains(&n)),
        headline,
        cells,
        line: (ok && !line_parts.is_empty()).then(|| line_parts.join(", ")),
        modes: b.facts.modes.as_ref().filter(|_| ok).map(|m| modes_text(b, m)),
        default_note: b.config.default_entry.then(|| default_entry_note(b)),
        command: (!b.config.command.is_empty()).then(|| command_text(b)),
        budget_notes: budget_notes(b),
        columns_over,
        residency_note: residency_note(b),
        detail: b.detail.iter().flat_map(|d| d.lines().map(str::to_string)).collect(),
        warnings: b.warnings.clone(),
        facts: super::facts::lines(b),
        slowest_imports: b
            .facts
            .slowest_imports
            .iter()
            .flatten()
            .map(|s| {
                let chain: Vec<&str> = s.chain.iter().rev().map(String::as_str).collect();
                let by = if chain.is_empty() { String::new() } else { format!(" ← {}", chain.join(" ← ")) };
                format!(
                    "{} {} (own {}){by}",
                    s.module,
                    format::value(Unit::Seconds, s.cumulative),
                    format::value(Unit::Seconds, s.own)
                )
            })
            .collect(),
        profile: b.facts.profile.as_ref().filter(|_| ok).map(profile::view),
    }
}

/// `two modes: 1.02 ms (52%), 1.32 ms (48%)`, in the metric's unit (named unless it is the headline).
fn modes_text(b: &BenchmarkResult, modes: &crate::results::Modes) -> String {
    let desc = b.metrics.get(&modes.metric);
    let parts: Vec<String> =
        modes.modes.iter().map(|m| format!("{} ({:.0}%)", format::metric_value(desc, m.at), m.share * 100.0)).collect();
    let of = if b.headline().is_some_and(|(n, _)| n == modes.metric) {
        String::new()
    } else {
        format!(" of {}", modes.metric)
    };
    format!("two modes{of}: {}", parts.join(", "))
}

/// `against zmq/svc/throughput[server=builtin,…] (interleaved): throughput 7.7k/s → 5.1k/s
/// (−33.8%), server CPU/req …`: the metrics that would gate, of a benchmark against its reference.
fn reference_note(b: &BenchmarkResult) -> Option<String> {
    if let Some(pair) = head_to_head::pair(b) {
        return Some(head_to_head::note(&pair));
    }
    let reference = b.reference.as_ref()?;
    let parts: Vec<String> = reference
        .rows
        .iter()
        .filter(|r| b.metrics.get(&r.metric).is_some_and(|d| d.gates || d.column.as_deref() == Some("server CPU/req")))
        .filter_map(|r| {
            let desc = b.metrics.get(&r.metric);
            // Nothing on either side (no bad reply) says nothing.
            let (base, cand) = Some((r.baseline?, r.candidate?)).filter(|(b, c)| *b != 0.0 || *c != 0.0)?;
            let label = desc.map_or(r.metric.as_str(), |d| d.label_or(&r.metric));
            let fmt = |v: f64| format::metric_value(desc, v);
            let percent = change_percent(r, desc).map(|p| format!(" ({})", signed_percent(p))).unwrap_or_default();
            Some(format!("{label} {} → {}{percent}", fmt(base), fmt(cand)))
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    let floor = reference.id.split_once('[').map_or(reference.id.as_str(), |(_, p)| p.trim_end_matches(']'));
    let how = if reference.interleaved { "interleaved" } else { "measured apart" };
    Some(format!("against [{floor}] ({how}): {}", parts.join(", ")))
}

/// `fd --help (default: no [[package.metadata.bench.start]] entry)`: what a benchmark that no
/// configuration asked for ran, so that nobody takes `--help` for the program's real start.
pub fn default_entry_note(b: &BenchmarkResult) -> String {
    let mut words = b.config.command.clone();
    for word in words.iter_mut().take(2) {
        if word.starts_with('/') {
            *word = file_name(word);
        }
    }
    format!("{} (default: no [[package.metadata.bench.{}]] entry)", words.join(" "), b.kind)
}

/// The full command line of a benchmark, shell-quoted, with the environment it added.
pub fn command_text(b: &BenchmarkResult) -> String {
    let quote = |w: &str| shlex::try_quote(w).map(|q| q.into_owned()).unwrap_or_else(|_| format!("{w:?}"));
    let env = b.config.env.iter().map(|(k, v)| format!("{k}={}", quote(v)));
    env.chain(b.config.command.iter().map(|w| quote(w))).collect::<Vec<_>>().join(" ")
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.into())
}

/// One line per failed budget check, in the metric's unit.
fn budget_notes(b: &BenchmarkResult) -> Vec<String> {
    b.budget
        .iter()
        .filter(|c| !c.ok)
        .map(|check| match check.metric.as_str() {
            _ if check.stat == Checked::Unchecked => {
                format!("could not check {}: {}", check.metric, check.found.join(", "))
            }
            "forbidden_loaded" => format!("forbidden shared object loaded: {}", check.found.join(", ")),
            "forbidden_imported" => format!("forbidden module imported: {}", check.found.join(", ")),
            metric if check.stat == Checked::Speedup => speedup_note(b, metric, check),
            metric => {
                let desc = b.metrics.get(metric);
                let label = desc.map_or(metric, |d| d.label_or(metric));
                let fmt = |v: f64| format::metric_value(desc, v);
                let what = match check.stat {
                    Checked::Max | Checked::Value => label.to_string(),
                    other => format!("{} {label}", other.as_str()),
                };
                let (verb, limit) = match check.bound {
                    crate::results::Bound::Max => ("over the limit of", fmt(check.limit)),
                    crate::results::Bound::Min => ("under the minimum of", fmt(check.limit)),
                };
                format!("budget exceeded: {what} {} is {verb} {limit}", fmt(check.value))
            }
        })
        .collect()
}

/// "min-speedup not met: wall time 1.80× faster than python-baseline at the lower end of its 95%
/// CI (2.10× at the medians), 0.20× short of the minimum of 2×".
fn speedup_note(b: &BenchmarkResult, metric: &str, check: &crate::results::BudgetCheck) -> String {
    use crate::analysis::speedup::times;
    let desc = b.metrics.get(metric);
    let label = desc.map_or(metric, |d| d.label_or(metric));
    let word = desc.map_or("faster", crate::analysis::speedup::better_word);
    let reference = b.reference.as_ref();
    let name = reference.map_or("its reference", |r| head_to_head::short_name(&b.id, &r.id));
    let point = reference
        .and_then(|r| r.speedups.get(metric))
        .map(|s| format!(" ({} at the medians)", times(s.factor)))
        .unwrap_or_default();
    format!(
        "min-speedup not met: {label} {} {word} than {name} at the lower end of its 95% CI{point}, {} short of the \
         minimum of {}",
        times(check.value),
        times(check.limit - check.value),
        times(check.limit)
    )
}

fn residency_note(b: &BenchmarkResult) -> Option<String> {
    let stuck: Vec<String> = b
        .facts
        .residency
        .as_ref()?
        .iter()
        .filter(|x| x.resident > 0.5)
        .map(|x| format!("{} ({:.0}%)", x.file.display(), x.resident * 100.0))
        .collect();
    (!stuck.is_empty()).then(|| format!("stayed in the page cache (mapped by other processes?): {}", stuck.join(", ")))
}
