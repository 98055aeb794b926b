//! The runner: a small helper process (a hidden subcommand of this binary) that spawns the
//! measured processes.
//!
//! Linux folds the peak RSS of the address space that `exec` replaces into the child's
//! `ru_maxrss`. With `posix_spawn` (vfork) that is the *parent's* peak RSS, so a child spawned
//! straight from a large coldbench process would report coldbench's memory as its own. Spawning
//! from a fresh, small runner keeps that floor at the runner's few MiB. The runner speaks JSON
//! lines: one [`ProcessSpec`], then one line per requested run.

use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::{Deserialize, Serialize};

use super::process::{Launcher, ProcessSpec, RunRecord};

/// The hidden subcommand that starts a runner.
pub const RUNNER_ARG: &str = "__coldbench-runner";

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Ready,
    Record(RunRecord),
    Error(String),
}

/// The parent's handle on a runner process for one [`ProcessSpec`].
pub struct Runner {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Runner {
    /// Starts `exe __coldbench-runner` and hands it the spec.
    pub fn start(exe: &Path, spec: &ProcessSpec) -> io::Result<Self> {
        let mut child = Command::new(exe)
            .arg(RUNNER_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut runner = Runner { child, stdin: Some(stdin), stdout, line: String::new() };
        runner.send(&serde_json::to_string(spec).map_err(io::Error::other)?)?;
        match runner.receive()? {
            Reply::Ready => Ok(runner),
            Reply::Error(e) => Err(io::Error::other(e)),
            Reply::Record(_) => Err(io::Error::other("runner protocol error: unexpected record")),
        }
    }

    /// Asks for one run and returns its record.
    pub fn run(&mut self) -> io::Result<RunRecord> {
        self.send("run")?;
        match self.receive()? {
            Reply::Record(record) => Ok(record),
            Reply::Error(e) => Err(io::Error::other(e)),
            Reply::Ready => Err(io::Error::other("runner protocol error: unexpected ready")),
        }
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        let stdin = self.stdin.as_mut().expect("open until drop");
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
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

/// The runner's side: reads a spec, then serves one run per request line until stdin closes.
pub fn serve(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let mut lines = input.lines();
    let Some(first) = lines.next() else { return Ok(()) };
    let launcher = serde_json::from_str::<ProcessSpec>(&first?)
        .map_err(|e| e.to_string())
        .and_then(|spec| Launcher::new(spec).map_err(|e| e.to_string()));
    let mut launcher = match launcher {
        Ok(l) => {
            reply(&mut output, &Reply::Ready)?;
            l
        }
        Err(e) => return reply(&mut output, &Reply::Error(e)),
    };
    for line in lines {
        if line?.trim() != "run" {
            return reply(&mut output, &Reply::Error("runner protocol error: expected `run`".into()));
        }
        let answer = match launcher.run() {
            Ok(record) => Reply::Record(record),
            Err(e) => Reply::Error(format!("could not start {}: {e}", launcher.spec().program.display())),
        };
        reply(&mut output, &answer)?;
    }
    Ok(())
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
    use crate::measure::process::{Ending, Readiness};
    use std::collections::BTreeMap;
    use std::time::Duration;

    #[test]
    fn serve_answers_each_run_request_with_a_record() {
        let spec = ProcessSpec {
            program: which::which("true").unwrap(),
            args: vec![],
            env: BTreeMap::new(),
            cwd: std::env::temp_dir(),
            readiness: Readiness::Exit,
            timeout: Duration::from_secs(5),
        };
        let input = format!("{}\nrun\nrun\n", serde_json::to_string(&spec).unwrap());
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
    fn a_missing_program_is_an_error_reply_not_a_crash() {
        let spec = ProcessSpec {
            program: "/nonexistent/prog".into(),
            args: vec![],
            env: BTreeMap::new(),
            cwd: std::env::temp_dir(),
            readiness: Readiness::Exit,
            timeout: Duration::from_secs(5),
        };
        let input = format!("{}\nrun\n", serde_json::to_string(&spec).unwrap());
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().nth(1).unwrap().contains("could not start /nonexistent/prog"), "{text}");
    }
}
