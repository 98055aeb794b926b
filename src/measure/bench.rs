//! Benchmarks whose runs are process starts made by a [`Runner`]: start, load and python. The
//! [`Probe`] says how a run's record becomes metrics.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use super::cache::Residency;
use super::facts::ProcessFacts;
use super::load_helper::LoadReport;
use super::process::{ProcessSpec, Readiness, RunRecord};
use super::python;
use super::runner::Runner;
use crate::plan::Probe;
use crate::scheduler::{metrics, Bench, Metric, Observation, RunFailure};

/// One side of a benchmark; the sides of a comparison share one runner (and so one RSS floor).
pub struct ProcessBench {
    runner: Rc<RefCell<Runner>>,
    index: usize,
    /// The runner's index of the empty load helper, for load probes.
    empty: Option<usize>,
    spec: ProcessSpec,
    probe: Probe,
    /// Per evicted file, the largest resident fraction seen right after eviction.
    residency: Vec<Residency>,
}

impl ProcessBench {
    /// Starts one runner (`runner_exe`, normally this very binary) for all sides and returns a
    /// bench per side, in order. `empty_helper` is the spec of an empty load-helper run, needed
    /// when a side has a load probe.
    pub fn for_sides(
        runner_exe: &Path,
        sides: Vec<(ProcessSpec, Probe)>,
        empty_helper: Option<ProcessSpec>,
    ) -> std::io::Result<Vec<ProcessBench>> {
        let mut specs: Vec<ProcessSpec> = sides.iter().map(|(s, _)| s.clone()).collect();
        let empty = empty_helper.map(|spec| {
            specs.push(spec);
            specs.len() - 1
        });
        let runner = Rc::new(RefCell::new(Runner::start(runner_exe, &specs)?));
        Ok(sides
            .into_iter()
            .enumerate()
            .map(|(index, (spec, probe))| {
                let empty = if matches!(probe, Probe::Load { .. }) { empty } else { None };
                ProcessBench { runner: runner.clone(), index, empty, spec, probe, residency: Vec::new() }
            })
            .collect())
    }

    /// The untimed facts run, and its record (for facts that come from output).
    pub fn facts(&mut self) -> Result<(ProcessFacts, RunRecord), String> {
        self.runner.borrow_mut().facts(self.index).map_err(|e| e.to_string())
    }

    /// With a cold cache: per file, the largest fraction left resident after eviction.
    pub fn residency(&self) -> Option<Vec<Residency>> {
        (!self.residency.is_empty()).then(|| self.residency.clone())
    }

    fn note_residency(&mut self, seen: &[Residency]) {
        for r in seen {
            match self.residency.iter_mut().find(|x| x.file == r.file) {
                Some(x) => x.resident = x.resident.max(r.resident),
                None => self.residency.push(r.clone()),
            }
        }
    }
}

impl Bench for ProcessBench {
    fn run(&mut self) -> Result<Observation, RunFailure> {
        let failure = |e: std::io::Error| RunFailure { reason: e.to_string(), detail: None };
        let empty = match self.empty {
            Some(i) => Some(self.runner.borrow_mut().run(i).map_err(failure)?),
            None => None,
        };
        let record = self.runner.borrow_mut().run(self.index).map_err(failure)?;
        self.note_residency(&record.residency);
        observe(&record, &self.spec, &self.probe, empty.as_ref())
    }
}

fn usage_values(record: &RunRecord) -> Vec<(Metric, f64)> {
    let u = &record.usage;
    vec![
        (metrics::USER, u.user.as_secs_f64()),
        (metrics::SYS, u.sys.as_secs_f64()),
        (metrics::MAX_RSS, u.max_rss as f64),
        (metrics::MINOR_FAULTS, u.minor_faults as f64),
        (metrics::MAJOR_FAULTS, u.major_faults as f64),
        (metrics::VCSW, u.vcsw as f64),
        (metrics::IVCSW, u.ivcsw as f64),
    ]
}

/// Turns a run record into an observation, or into the failure it represents.
pub fn observe(
    record: &RunRecord,
    spec: &ProcessSpec,
    probe: &Probe,
    empty: Option<&RunRecord>,
) -> Result<Observation, RunFailure> {
    match probe {
        Probe::Start { .. } => {
            if let Some(reason) = record.failure(&spec.readiness, spec.timeout) {
                return Err(RunFailure { reason, detail: record.stderr_tail.clone() });
            }
            Ok(Observation { wall: record.wall, values: usage_values(record) })
        }
        Probe::Load { .. } => {
            let report = LoadReport::from_stdout(record.stdout.as_deref());
            if let Some(error) = report.as_ref().and_then(|r| r.error.clone()) {
                return Err(RunFailure { reason: format!("could not load: {error}"), detail: None });
            }
            if let Some(reason) = record.failure(&Readiness::Exit, spec.timeout) {
                return Err(RunFailure {
                    reason: format!("the load helper {reason}"),
                    detail: record.stderr_tail.clone(),
                });
            }
            let report = report.ok_or_else(|| RunFailure {
                reason: "the load helper printed no report".into(),
                detail: record.stderr_tail.clone(),
            })?;
            let mut values = vec![(metrics::LOAD, report.load.unwrap_or(0.0))];
            if let Some(init) = report.init {
                values.push((metrics::INIT, init));
            }
            values.push((metrics::PROCESS, record.wall.as_secs_f64()));
            if let Some(empty) = empty {
                if let Some(reason) = empty.failure(&Readiness::Exit, spec.timeout) {
                    return Err(RunFailure { reason: format!("the empty helper run {reason}"), detail: None });
                }
                values.push((metrics::PROCESS_MINUS_EMPTY, record.wall.as_secs_f64() - empty.wall.as_secs_f64()));
            }
            values.extend(usage_values(record));
            Ok(Observation { wall: record.wall, values })
        }
        Probe::Python { module, .. } => {
            let stderr = record.stderr.as_deref().unwrap_or("");
            if record.failure(&Readiness::Exit, spec.timeout).is_some() {
                let why = python::failure_line(stderr)
                    .unwrap_or_else(|| record.failure(&Readiness::Exit, spec.timeout).unwrap_or_default());
                return Err(RunFailure { reason: format!("import {module} failed: {why}"), detail: None });
            }
            let times = python::parse_importtime(stderr, module)
                .map_err(|e| RunFailure { reason: format!("could not read the import times: {e}"), detail: None })?;
            let mut values = vec![
                (metrics::IMPORT, times.cumulative_secs),
                (metrics::IMPORT_SELF, times.self_secs),
                (metrics::IMPORT_TOTAL, times.total_secs),
                (metrics::MODULES, times.modules.len() as f64),
            ];
            values.extend(usage_values(record));
            Ok(Observation { wall: record.wall, values })
        }
    }
}
