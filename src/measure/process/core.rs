//! What the kinds that start processes share: a registration with the runner the sides of a
//! comparison share, runs and the untimed facts run through it, the residency of evicted files,
//! and the facts read from an ELF file.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::elf;
use super::maps::ProcessFacts;
use super::runner::Runner;
use super::spec::{ProcessSpec, RunRecord};
use crate::build::stage::Staged;
use crate::build::ArtifactRef;
use crate::measure::bench::{MetricName, PackageSide, PrepareEnv, RunFailure, SideMap};
use crate::results::{fact_metrics, Facts, Relocations, Residency};

/// One benchmark side's place in the shared runner.
pub struct ProcessCore {
    runner: Rc<RefCell<Runner>>,
    index: usize,
    spec: ProcessSpec,
    /// Per evicted file, the largest resident fraction seen right after eviction.
    residency: Vec<Residency>,
    /// Fresh copies and the files they copy, so that reports name the files users know.
    names: Vec<(PathBuf, PathBuf)>,
}

impl ProcessCore {
    /// Registers `spec` with the runner of `env` (starting it for the first side), on the CPU
    /// `--pin` chose for children.
    pub fn start(env: &PrepareEnv, spec: ProcessSpec) -> Result<ProcessCore, String> {
        let spec = pinned(spec);
        let runner = env.runner.get(env.self_exe).map_err(|e| format!("could not start the runner: {e}"))?;
        let index = runner.borrow_mut().add(&spec).map_err(|e| format!("could not start the runner: {e}"))?;
        let names = env
            .staged
            .copies
            .iter()
            .filter_map(|(a, copy)| env.staged.built.get(a).map(|built| (copy.clone(), built.clone())))
            .collect();
        Ok(ProcessCore { runner, index, spec, residency: Vec::new(), names })
    }

    /// Registers another spec in the same runner (an empty helper run beside each measured one).
    pub fn add(&self, spec: &ProcessSpec) -> Result<usize, String> {
        self.runner.borrow_mut().add(&pinned(spec.clone())).map_err(|e| format!("could not register a run: {e}"))
    }

    /// The spec this side runs.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// The scheduler's promise of this side's next rounds, passed to the runner, which then
    /// makes them in batches (see `Runner::expect`).
    pub fn expect_rounds(&self, rounds: u32) {
        self.runner.borrow_mut().expect(self.index, rounds);
    }

    /// One run of this side's spec.
    pub fn run(&mut self) -> Result<RunRecord, RunFailure> {
        self.run_spec(self.index)
    }

    /// One run of a spec registered with [`ProcessCore::add`].
    pub fn run_spec(&mut self, index: usize) -> Result<RunRecord, RunFailure> {
        let record = self.runner.borrow_mut().run(index).map_err(|e| RunFailure::new(e.to_string()))?;
        for r in &record.residency {
            match self.residency.iter_mut().find(|x| x.file == r.file) {
                Some(x) => x.resident = x.resident.max(r.resident),
                None => self.residency.push(r.clone()),
            }
        }
        Ok(record)
    }

    /// The untimed facts run, and its record (for facts that come from output).
    pub fn facts_run(&mut self) -> Result<(ProcessFacts, RunRecord), String> {
        self.runner.borrow_mut().facts(self.index).map_err(|e| e.to_string())
    }

    /// The untimed facts run, folded into `facts` and `values`: the shared objects mapped at the end
    /// event, the thread count and the loader's statistics. Returns the run's record for what a
    /// kind reads from its output, or `None` when the run could not be made.
    pub fn take_facts(&mut self, facts: &mut Facts, values: &mut Vec<(MetricName, f64)>) -> Option<RunRecord> {
        let (seen, record) = match self.facts_run() {
            Ok(run) => run,
            Err(e) => {
                facts.problems.push(format!("the facts run failed: {e}"));
                return None;
            }
        };
        facts.loader = seen.loader;
        match seen.problem {
            Some(problem) => facts.problems.push(format!("the facts run saw no end event: {problem}")),
            None => {
                values.push((fact_metrics::MAPPED_LIBS.into(), seen.mapped_objects.len() as f64));
                facts.mapped_libs = Some(seen.mapped_objects.len() as u64);
                facts.mapped_objects = Some(seen.mapped_objects);
                facts.threads = seen.threads;
            }
        }
        Some(record)
    }

    /// With a cold cache: per evicted file, the largest fraction left resident, named as built.
    pub fn residency(&self) -> Option<Vec<Residency>> {
        if self.residency.is_empty() {
            return None;
        }
        let named = self.residency.iter().map(|r| {
            let file = self.names.iter().find(|(copy, _)| *copy == r.file).map(|(_, built)| built.clone());
            Residency { file: file.unwrap_or_else(|| r.file.clone()), resident: r.resident }
        });
        Some(named.collect())
    }
}

/// `spec` on the child's CPU of `--pin`, when there is one.
fn pinned(spec: ProcessSpec) -> ProcessSpec {
    ProcessSpec { cpu: super::pin::get().map(|p| p.child).or(spec.cpu), ..spec }
}

/// What a benchmark runs: a binary cargo builds, or a program at a known path.
#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    /// A binary that cargo builds (its fresh copy runs).
    Bin(ArtifactRef),
    /// An executable at a known path.
    Path(PathBuf),
}

impl Program {
    /// The built target it needs, if any.
    pub fn artifact(&self) -> Option<&ArtifactRef> {
        match self {
            Program::Bin(a) => Some(a),
            Program::Path(_) => None,
        }
    }

    /// The file to run (a built binary's fresh copy) and the file reports name (what cargo
    /// built, or the program itself).
    pub fn resolve(&self, staged: &Staged) -> Result<(PathBuf, PathBuf), String> {
        match self {
            Program::Bin(a) => staged_file(staged, a),
            Program::Path(p) => Ok((p.clone(), p.clone())),
        }
    }

    /// The same program on the other side of a comparison, where the benchmark's package is `side`.
    pub fn rebind(&self, side: &PackageSide, other: &SideMap) -> Result<Program, String> {
        match self {
            Program::Bin(a) if side.bins.contains(&a.target) => Ok(Program::Bin(a.clone())),
            Program::Bin(a) => Err(format!("bin `{}` does not exist {}", a.target, other.at)),
            Program::Path(p) => Ok(Program::Path(other.reroot(p))),
        }
    }
}

/// A built target's fresh copy (what runs) and its file as built (what reports name).
pub fn staged_file(staged: &Staged, artifact: &ArtifactRef) -> Result<(PathBuf, PathBuf), String> {
    match (staged.copies.get(artifact), staged.built.get(artifact)) {
        (Some(copy), Some(built)) => Ok((copy.clone(), built.clone())),
        _ => Err(format!("{artifact} was not built")),
    }
}

/// Adds what the ELF file says: size, `DT_NEEDED`, relocation counts, whether it is stripped.
pub fn elf_facts(file: &Path, facts: &mut Facts) {
    facts.binary_bytes = std::fs::metadata(file).ok().map(|m| m.len());
    match elf::read(file) {
        Ok(e) => {
            facts.needed = Some(e.needed);
            facts.relocations = Some(Relocations {
                relative: e.relative_relocations,
                symbolic: e.symbolic_relocations,
                plt: e.plt_relocations,
            });
            facts.stripped = Some(e.stripped);
        }
        Err(e) => facts.problems.push(e),
    }
}

/// The exact values of an ELF file's facts: its size and its relocations.
pub fn elf_values(facts: &Facts) -> Vec<(MetricName, f64)> {
    let mut out = Vec::new();
    if let Some(bytes) = facts.binary_bytes {
        out.push((fact_metrics::BINARY_BYTES.into(), bytes as f64));
    }
    if let Some(r) = &facts.relocations {
        out.push((fact_metrics::RELOCATIONS.into(), (r.relative + r.symbolic + r.plt) as f64));
    }
    out
}

/// Mapped objects whose file name starts with one of the forbidden names (`libssl` matches
/// `/usr/lib/x86_64-linux-gnu/libssl.so.3`).
pub fn forbidden_objects(mapped: &[String], forbidden: &[String]) -> Vec<String> {
    mapped
        .iter()
        .filter(|path| {
            let name = Path::new(path).file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            forbidden.iter().any(|f| name.starts_with(f.as_str()))
        })
        .cloned()
        .collect()
}

/// The budget check of a list that must stay empty (forbidden objects or modules): `found` when
/// the facts run saw the list, or a failing "unchecked" check when it could not be made — a
/// lazy-loading check that could not run fails the gate rather than passing unseen.
pub fn forbidden_check(metric: &str, found: Option<Vec<String>>, problems: &[String]) -> crate::results::BudgetCheck {
    use crate::results::{Bound, BudgetCheck, Checked};
    match found {
        Some(found) => BudgetCheck {
            metric: metric.into(),
            stat: Checked::Count,
            bound: Bound::Max,
            limit: 0.0,
            value: found.len() as f64,
            ok: found.is_empty(),
            found,
        },
        None => {
            let why = if problems.is_empty() { "the facts run saw nothing".to_string() } else { problems.join("; ") };
            BudgetCheck {
                metric: metric.into(),
                stat: Checked::Unchecked,
                bound: Bound::Max,
                limit: 0.0,
                value: 0.0,
                ok: false,
                found: vec![why],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_objects_match_by_file_name_prefix() {
        let mapped = vec!["/usr/lib/libssl.so.3".to_string(), "/opt/notlibssl/libc.so.6".to_string()];
        assert_eq!(forbidden_objects(&mapped, &["libssl".into()]), ["/usr/lib/libssl.so.3"]);
        assert!(forbidden_objects(&mapped, &["libz".into()]).is_empty());
    }

    #[test]
    fn a_check_that_could_not_be_made_fails() {
        let check = forbidden_check("forbidden_loaded", None, &["the facts run failed: boom".into()]);
        assert!(
            !check.ok
                && check.stat == crate::results::Checked::Unchecked
                && check.found == ["the facts run failed: boom"]
        );
        let check = forbidden_check("forbidden_loaded", Some(vec![]), &[]);
        assert!(check.ok && check.value == 0.0);
    }
}
