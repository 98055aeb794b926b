//! The process-start benchmark: a [`Bench`] whose runs are made by a [`Runner`] process.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use super::process::{ProcessSpec, RunRecord};
use super::runner::Runner;
use crate::scheduler::{metrics, Bench, Observation, RunFailure};

/// Times the start of one process spec; the sides of a comparison share one runner.
pub struct StartBench {
    runner: Rc<RefCell<Runner>>,
    index: usize,
    spec: ProcessSpec,
}

impl StartBench {
    /// Starts one runner (`runner_exe`, normally this very binary) for all the specs and returns
    /// a bench per spec, in order.
    pub fn for_sides(runner_exe: &Path, specs: Vec<ProcessSpec>) -> std::io::Result<Vec<StartBench>> {
        let runner = Rc::new(RefCell::new(Runner::start(runner_exe, &specs)?));
        Ok(specs
            .into_iter()
            .enumerate()
            .map(|(index, spec)| StartBench { runner: runner.clone(), index, spec })
            .collect())
    }
}

impl Bench for StartBench {
    fn run(&mut self) -> Result<Observation, RunFailure> {
        let record =
            self.runner.borrow_mut().run(self.index).map_err(|e| RunFailure { reason: e.to_string(), detail: None })?;
        observe(&record, &self.spec)
    }
}

/// Turns a run record into an observation, or into the failure it represents.
pub fn observe(record: &RunRecord, spec: &ProcessSpec) -> Result<Observation, RunFailure> {
    if let Some(reason) = record.failure(&spec.readiness, spec.timeout) {
        return Err(RunFailure { reason, detail: record.stderr_tail.clone() });
    }
    let u = &record.usage;
    Ok(Observation {
        wall: record.wall,
        values: vec![
            (metrics::USER, u.user.as_secs_f64()),
            (metrics::SYS, u.sys.as_secs_f64()),
            (metrics::MAX_RSS, u.max_rss as f64),
            (metrics::MINOR_FAULTS, u.minor_faults as f64),
            (metrics::MAJOR_FAULTS, u.major_faults as f64),
            (metrics::VCSW, u.vcsw as f64),
            (metrics::IVCSW, u.ivcsw as f64),
        ],
    })
}
