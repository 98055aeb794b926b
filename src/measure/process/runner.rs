//! The runner: a small helper process that spawns the measured processes.
//!
//! Linux folds the peak RSS of the address space that `exec` replaces into the child's
//! `ru_maxrss`. With `posix_spawn` (vfork) that is the *parent's* peak RSS, so a child spawned
//! straight from a large coldbench process would report coldbench's memory as its own. Spawning
//! from a fresh, small runner keeps that floor at the runner's working set. The runner is its own
//! binary, `coldbench-runner`, installed beside `cargo-coldbench`: it holds only the runner's code,
//! so the code its loop runs is packed into a few page-cache folios instead of being spread over
//! those of the whole tool, which halves the floor and keeps it from moving with unrelated
//! changes (BENCHMARKS.md, "Peak-RSS floor"). Where no runner built from the same sources sits
//! beside `cargo-coldbench`, its hidden `__coldbench-runner` subcommand serves instead. The two
//! sides of a comparison share one runner, so they share that floor too. The runner speaks JSON
//! lines: one array of [`ProcessSpec`]s, then `add <spec>` lines that register more, `run <index>`
//! for one run of a spec and `runs <index>...` for several back to back (a batch, see `batch.rs`).

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::batch::Batches;
use super::launcher::Launcher;
use super::maps::ProcessFacts;
use super::spec::{ProcessSpec, RunRecord};

/// The hidden subcommand that starts a runner (of `coldbench-runner`, or of `cargo-coldbench`
/// where there is no runner binary); the sources' identity follows it.
pub const RUNNER_ARG: &str = "__coldbench-runner";

/// The runner binary's name, beside `cargo-coldbench`.
pub const RUNNER_BIN: &str = "coldbench-runner";

/// The identity of the sources both sides were built from: a runner answers a parent built from
/// other sources with [`Reply::OtherSources`], and the parent then runs itself.
pub use crate::SOURCE_ID;

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Ready,
    Added(usize),
    Record(RunRecord),
    Facts(ProcessFacts, RunRecord),
    /// The records of a batch, in order. It ends early after a failed run (`failed`: the last
    /// record's), or before a run that could not start (`error`).
    Batch {
        records: Vec<RunRecord>,
        failed: bool,
        error: Option<String>,
    },
    Error(String),
    /// The runner was built from other sources than its parent (a stale runner binary).
    OtherSources,
}

/// The parent's handle on a runner process for some [`ProcessSpec`]s.
pub struct Runner {
    program: std::path::PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
    batches: Batches,
}

impl Runner {
    /// Starts the runner binary beside `self_exe` (`cargo-coldbench`), or where there is none
    /// that starts and was built from the same sources, `self_exe` itself, and hands it the specs.
    pub fn start(self_exe: &Path, specs: &[ProcessSpec]) -> io::Result<Self> {
        let beside = self_exe.with_file_name(format!("{RUNNER_BIN}{}", std::env::consts::EXE_SUFFIX));
        // One that cannot be started (not executable, built for another machine) is passed over
        // like a stale one: this executable serves instead.
        if let Some(child) = beside.is_file().then(|| Runner::spawn(&beside).ok()).flatten() {
            if let Some(runner) = Runner::handshake(&beside, child, specs)? {
                return Ok(runner);
            }
        }
        Runner::handshake(self_exe, Runner::spawn(self_exe)?, specs)?
            .ok_or_else(|| io::Error::other("runner protocol error: this executable disowns its own sources"))
    }

    /// Starts `program __coldbench-runner SOURCE_ID`.
    fn spawn(program: &Path) -> io::Result<Child> {
        Command::new(program)
            .args([RUNNER_ARG, SOURCE_ID])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
    }

    /// Pins a started runner where `--pin` says and hands it the specs; `None` when it was built
    /// from other sources.
    fn handshake(program: &Path, mut child: Child, specs: &[ProcessSpec]) -> io::Result<Option<Self>> {
        if let Some(pin) = super::pin::get() {
            if let Err(e) = super::pin::pin_process(child.id(), pin.runner) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!("could not pin the runner to CPU {}: {e}", pin.runner)));
            }
        }
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut runner = Runner {
            program: program.to_path_buf(),
            child,
            stdin: Some(stdin),
            stdout,
            line: String::new(),
            batches: Batches::default(),
        };
        runner.send(&serde_json::to_string(specs).map_err(io::Error::other)?)?;
        match runner.receive()? {
            Reply::Ready => Ok(Some(runner)),
            Reply::OtherSources => Ok(None),
            Reply::Error(e) => Err(io::Error::other(e)),
            _ => Err(io::Error::other("runner protocol error: unexpected reply")),
        }
    }

    /// The executable this runner runs: the runner binary, or `cargo-coldbench` itself.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Registers one more spec and returns its index.
    pub fn add(&mut self, spec: &ProcessSpec) -> io::Result<usize> {
        self.send(&format!("add {}", serde_json::to_string(spec).map_err(io::Error::other)?))?;
        match self.receive()? {
            Reply::Added(index) => Ok(index),
            Reply::Error(e) => Err(io::Error::other(e)),
            _ => Err(io::Error::other("runner protocol error: unexpected reply")),
        }
    }

    /// Asks for the untimed facts run of spec `index`.
    pub fn facts(&mut self, index: usize) -> io::Result<(ProcessFacts, RunRecord)> {
        self.send(&format!("facts {index}"))?;
        match self.receive()? {
            Reply::Facts(facts, record) => Ok((facts, record)),
            Reply::Error(e) => Err(io::Error::other(e)),
            _ => Err(io::Error::other("runner protocol error: unexpected reply")),
        }
    }

    /// Spec `index` will be run once in each of the next `rounds` rounds, the specs promised
    /// taking turns in the order they were promised: those runs are then made in batches.
    pub fn expect(&mut self, index: usize, rounds: u32) {
        self.batches.expect(index, rounds);
    }

    /// One run of spec `index`: made ahead in a batch when it was promised, else now.
    pub fn run(&mut self, index: usize) -> io::Result<RunRecord> {
        if let Some(made) = self.batches.take(index) {
            return made.map_err(io::Error::other);
        }
        let schedule = self.batches.schedule(index);
        if !schedule.is_empty() {
            let list: Vec<String> = schedule.iter().map(usize::to_string).collect();
            self.send(&format!("runs {}", list.join(" ")))?;
            match self.receive()? {
                Reply::Batch { records, failed, error } => self.batches.fill(&schedule, records, failed, error),
                Reply::Error(e) => return Err(io::Error::other(e)),
                _ => return Err(io::Error::other("runner protocol error: unexpected reply")),
            }
            let made =
                self.batches.take(index).ok_or_else(|| io::Error::other("runner protocol error: empty batch"))?;
            return made.map_err(io::Error::other);
        }
        self.send(&format!("run {index}"))?;
        match self.receive()? {
            Reply::Record(record) => Ok(record),
            Reply::Error(e) => Err(io::Error::other(e)),
            _ => Err(io::Error::other("runner protocol error: unexpected reply")),
        }
    }

    /// Sends one request in one write: a runner woken by half a line would only go back to sleep.
    fn send(&mut self, line: &str) -> io::Result<()> {
        let stdin = self.stdin.as_mut().expect("open until drop");
        let mut request = String::with_capacity(line.len() + 1);
        request.push_str(line);
        request.push('\n');
        stdin.write_all(request.as_bytes())?;
        stdin.flush()
    }

    fn receive(&mut self) -> io::Result<Reply> {
        self.line.clear();
        if self.stdout.read_line(&mut self.line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the runner process exited unexpectedly"));
        }
        serde_json::from_str(&self.line).map_err(io::Error::other)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        // Closing stdin tells the runner to exit.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The runner process's `main`, for `args` after [`RUNNER_ARG`] (the parent's [`SOURCE_ID`]): it
/// serves its parent until stdin closes; returns the exit status.
pub fn runner_main(args: &[std::ffi::OsString]) -> u8 {
    if args.first().is_some_and(|id| id != SOURCE_ID) {
        // Read the parent's first line, so that its write cannot meet a closed pipe.
        let mut first = String::new();
        let _ = io::stdin().read_line(&mut first);
        return match reply(&mut io::stdout(), &Reply::OtherSources) {
            Ok(()) => 0,
            Err(_) => 1,
        };
    }
    // An interrupt kills the process group of the run in progress before the runner exits, so
    // that an interrupted benchmark leaves nothing running.
    crate::sys::signals::exit_on_interrupt();
    super::wait::become_subreaper();
    // If coldbench itself dies, the runner must not go on (nor leave its child behind).
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    match serve(stdin, stdout) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Lowers the floor that a spawned child's `ru_maxrss` cannot go below. With `posix_spawn`
/// (vfork) the child shares the runner's address space until `exec`, and Linux folds that address
/// space's peak RSS into the child's: the runner's peak. Most of a fresh runner's RSS is pages of
/// this binary and its libraries, touched once while starting. The file mappings that hold no
/// anonymous (written) page are pure page-cache copies: dropping them from the page tables
/// (`MADV_DONTNEED`) loses nothing — a later access faults the same bytes back in — and the peak
/// is then reset to what remains (`clear_refs` 5). The runner faults back only the pages its spawn
/// loop uses, during the warmup runs, so the floor becomes that working set. It runs when the
/// runner is ready and again after each spec is added and each facts run: those run code the timed
/// runs never do (building a spec's argv and envp, mapping the child's stack, the traced run), and
/// Linux maps a file's pages a whole page-cache folio at a time (often 128–256 KiB), so in a debug
/// build that code alone kept about 3 MiB in the floor. Best effort: where `/proc` says no, the
/// floor stays where it was.
fn shrink_peak_rss() {
    crate::sys::memory::drop_unwritten_file_pages();
    // Free heap pages go back too (glibc keeps them mapped otherwise).
    crate::sys::memory::trim_heap();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The runner's side: reads the specs, then serves one run per request line until stdin closes.
pub fn serve(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let mut lines = input.lines();
    let Some(first) = lines.next() else { return Ok(()) };
    let launchers = serde_json::from_str::<Vec<ProcessSpec>>(&first?).map_err(|e| e.to_string()).and_then(|specs| {
        specs.into_iter().map(|spec| Launcher::new(spec).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()
    });
    let mut launchers = match launchers {
        Ok(l) => {
            shrink_peak_rss();
            reply(&mut output, &Reply::Ready)?;
            l
        }
        Err(e) => return reply(&mut output, &Reply::Error(e)),
    };
    for line in lines {
        let line = line?;
        let (verb, index) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        if verb == "add" {
            let answer = serde_json::from_str::<ProcessSpec>(index)
                .map_err(|e| e.to_string())
                .and_then(|spec| Launcher::new(spec).map_err(|e| e.to_string()));
            let answer = match answer {
                Ok(launcher) => {
                    launchers.push(launcher);
                    // What preparing the spec ran (its argv and envp, the child's stack) leaves
                    // the floor before the timed runs.
                    shrink_peak_rss();
                    Reply::Added(launchers.len() - 1)
                }
                Err(e) => Reply::Error(format!("runner protocol error: {e}")),
            };
            reply(&mut output, &answer)?;
            continue;
        }
        if verb == "runs" {
            let indices: Option<Vec<usize>> =
                index.split_whitespace().map(|i| i.parse::<usize>().ok().filter(|i| *i < launchers.len())).collect();
            let answer = match indices {
                Some(indices) if !indices.is_empty() => run_batch(&mut launchers, &indices),
                _ => Reply::Error(format!("runner protocol error: unexpected `{line}`")),
            };
            reply(&mut output, &answer)?;
            drop(answer);
            reset_peak_rss();
            continue;
        }
        let Some(launcher) = index.parse::<usize>().ok().and_then(|i| launchers.get_mut(i)) else {
            return reply(&mut output, &Reply::Error(format!("runner protocol error: unexpected `{line}`")));
        };
        let answer = match verb {
            "run" => match launcher.run() {
                Ok(record) => Reply::Record(record),
                Err(e) => Reply::Error(could_not_start(e, launcher)),
            },
            "facts" => {
                let facts = launcher.facts();
                // The traced run's code (ptrace, the /proc readers) is not the timed runs'.
                shrink_peak_rss();
                match facts {
                    Ok(facts) => Reply::Facts(facts.0, facts.1),
                    Err(e) => Reply::Error(could_not_start(e, launcher)),
                }
            }
            _ => Reply::Error(format!("runner protocol error: unexpected `{line}`")),
        };
        reply(&mut output, &answer)?;
    }
    Ok(())
}

/// Makes the runs of a batch back to back, keeping their records until the end: the main
/// process sleeps through them. A failed run (one that exits with an error, is killed or times out)
/// ends the batch: the scheduler ends its benchmark there, and one hanging program must cost one
/// timeout. So does a run that cannot start.
fn run_batch(launchers: &mut [Launcher], indices: &[usize]) -> Reply {
    // Every record's memory is touched before the first run, so that each run of the batch has
    // the same peak-RSS floor (see `batch::MAX_RUNS`).
    let mut records = vec![RunRecord::default(); indices.len()];
    for (made, &i) in indices.iter().enumerate() {
        let launcher = &mut launchers[i];
        match launcher.run() {
            Ok(record) => {
                let failed = record.failure(&launcher.spec().readiness, launcher.spec().timeout).is_some();
                records[made] = record;
                if failed {
                    records.truncate(made + 1);
                    return Reply::Batch { records, failed, error: None };
                }
            }
            Err(e) => {
                records.truncate(made);
                return Reply::Batch { records, failed: false, error: Some(could_not_start(e, launcher)) };
            }
        }
    }
    Reply::Batch { records, failed: false, error: None }
}

fn could_not_start(e: io::Error, launcher: &Launcher) -> String {
    format!("could not start {}: {e}", launcher.spec().program.display())
}

/// After a batch's answer: gives its records' memory back and restarts the peak-RSS count from
/// what is left, so that the next batch's children start from the same floor as this one's.
/// Best effort, like [`shrink_peak_rss`] (whose file mappings are left alone here: the next runs
/// would fault them back inside their windows).
fn reset_peak_rss() {
    crate::sys::memory::trim_heap();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The runner the sides of one benchmark share, started when the first side needs it.
#[derive(Default)]
pub struct RunnerSlot {
    runner: RefCell<Option<Rc<RefCell<Runner>>>>,
}

impl RunnerSlot {
    /// An empty slot.
    pub fn new() -> RunnerSlot {
        RunnerSlot::default()
    }

    /// The shared runner, started from `exe` on first use.
    pub fn get(&self, exe: &Path) -> io::Result<Rc<RefCell<Runner>>> {
        let mut slot = self.runner.borrow_mut();
        if let Some(runner) = slot.as_ref() {
            return Ok(runner.clone());
        }
        let runner = Rc::new(RefCell::new(Runner::start(exe, &[])?));
        *slot = Some(runner.clone());
        Ok(runner)
    }
}

fn reply(output: &mut impl Write, reply: &Reply) -> io::Result<()> {
    let mut text = serde_json::to_string(reply).map_err(io::Error::other)?;
    text.push('\n');
    output.write_all(text.as_bytes())?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::process::spec::Ending;
    use crate::results::Readiness;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn spec_of(program: std::path::PathBuf) -> ProcessSpec {
        ProcessSpec {
            program,
            args: vec![],
            env: BTreeMap::new(),
            cwd: std::env::temp_dir(),
            readiness: Readiness::Exit,
            timeout: Duration::from_secs(5),
            capture_stdout: false,
            capture_stderr: false,
            cache: Default::default(),
            evict_first: None,
            cpu: None,
        }
    }

    #[test]
    fn serve_answers_each_run_request_with_a_record() {
        let spec = spec_of(which::which("true").unwrap());
        let input = format!("{}\nrun 0\nrun 0\n", serde_json::to_string(&[spec]).unwrap());
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        let replies: Vec<Reply> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(replies.len(), 3);
        assert!(matches!(replies[0], Reply::Ready));
        for r in &replies[1..] {
            assert!(matches!(r, Reply::Record(rec) if rec.ending == Ending::Exited { code: 0 }));
        }
    }

    #[test]
    fn specs_can_be_added_after_the_start() {
        let spec = spec_of(which::which("true").unwrap());
        let input = format!("[]\nadd {}\nrun 0\nrun 1\n", serde_json::to_string(&spec).unwrap());
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        let replies: Vec<Reply> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(
            matches!(replies[..], [Reply::Ready, Reply::Added(0), Reply::Record(_), Reply::Error(_)]),
            "{replies:?}"
        );
    }

    fn replies(input: &str) -> Vec<Reply> {
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn a_batch_runs_back_to_back_and_stops_after_the_first_failed_run() {
        let specs = [spec_of(which::which("true").unwrap()), spec_of(which::which("false").unwrap())];
        let specs = serde_json::to_string(&specs).unwrap();
        let got = replies(&format!("{specs}\nruns 0 0 0\nruns 0 1 0 1\nruns 0 2\nruns\n"));
        let [Reply::Ready, Reply::Batch { records: three, failed: false, error: None }, Reply::Batch { records: stopped, failed: true, error: None }, Reply::Error(bad), Reply::Error(empty)] =
            &got[..]
        else {
            panic!("{got:?}")
        };
        assert_eq!(three.len(), 3);
        assert!(three.iter().all(|r| r.ending == Ending::Exited { code: 0 }));
        let endings: Vec<&Ending> = stopped.iter().map(|r| &r.ending).collect();
        assert_eq!(endings, [&Ending::Exited { code: 0 }, &Ending::Exited { code: 1 }], "nothing after `false`");
        assert!(bad.contains("`runs 0 2`") && empty.contains("`runs`"), "{bad} / {empty}");
    }

    #[test]
    fn a_batch_that_cannot_start_a_run_says_so_after_the_records_it_made() {
        let specs = [spec_of(which::which("true").unwrap()), spec_of("/nonexistent/prog".into())];
        let got = replies(&format!("{}\nruns 0 1 0\n", serde_json::to_string(&specs).unwrap()));
        let [Reply::Ready, Reply::Batch { records: made, failed: false, error: Some(error) }] = &got[..] else {
            panic!("{got:?}")
        };
        assert_eq!(made.len(), 1);
        assert!(error.contains("could not start /nonexistent/prog"), "{error}");
    }

    #[test]
    fn each_run_of_a_batch_keeps_the_metrics_it_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metrics");
        // Each run counts itself in a file of its own and appends its number to the metrics file:
        // only the runner's removal before each run keeps one line per record.
        let script = "c=$(cat count 2>/dev/null || echo 0); c=$((c+1)); echo $c > count; echo \"n=$c\" >> \"$COLDBENCH_METRICS\"";
        let mut spec = spec_of(which::which("sh").unwrap());
        spec.args = vec!["-c".into(), script.into()];
        spec.cwd = dir.path().to_path_buf();
        spec.env.insert(crate::self_report::ENV.into(), file.display().to_string());
        let silent = spec_of(which::which("true").unwrap());
        let got = replies(&format!("{}\nruns 0 1 0\nrun 0\n", serde_json::to_string(&[spec, silent]).unwrap()));
        let [Reply::Ready, Reply::Batch { records: made, failed: false, error: None }, Reply::Record(alone)] = &got[..]
        else {
            panic!("{got:?}")
        };
        let reported: Vec<Option<&str>> =
            made.iter().chain([alone]).map(|r| r.reported.as_ref().map(|t| t.as_deref().unwrap())).collect();
        assert_eq!(reported, [Some("n=1\n"), None, Some("n=2\n"), Some("n=3\n")]);
    }

    #[test]
    fn a_missing_program_is_an_error_reply_not_a_crash() {
        let spec = spec_of("/nonexistent/prog".into());
        let input = format!("{}\nrun 0\n", serde_json::to_string(&[spec]).unwrap());
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().nth(1).unwrap().contains("could not start /nonexistent/prog"), "{text}");
    }
}
