//! Callgrind's output file (the "Callgrind Format", version 1) read into functions with their
//! self cost and their calls. No maintained crate reads it, so this is a small reader of the part
//! `--measure profile` needs: per function (by object and name) the instructions it ran itself,
//! and per call site the callee, the call count and the inclusive cost of those calls.
//!
//! What it handles: the header (`positions:`, `events:`, `totals:`/`summary:`); name compression
//! (`fn=(12) name` defines id 12, a later `fn=(12)` refers to it; objects, files and functions have
//! id spaces of their own); `ob=`, `fl=`/`fi=`/`fe=`; `cob=`/`cfi=`/`cfl=`/`cfn=` that apply to the
//! next `calls=` line only; cost lines with compressed positions (`+3`, `-1`, `*`) and fewer costs
//! than events (the rest are zero); `jump=`/`jcnd=` lines (skipped with the position line after
//! them); several parts in one file (summed). The position values themselves are not needed.

use std::collections::HashMap;

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("callgrind output, line {line}: {what}")]
pub struct ParseError {
    /// The line (from 1).
    pub line: usize,
    /// What was wrong.
    pub what: String,
}

/// A function: where it lives, what it ran itself and whom it called.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Function {
    /// The object file (the executable, a shared library) as callgrind names it.
    pub object: String,
    /// The function's name as callgrind wrote it (mangled with `--demangle=no`).
    pub name: String,
    /// Instructions (the event asked for) executed in the function itself.
    pub self_cost: u64,
    /// Its calls, one entry per callee.
    pub calls: Vec<Call>,
}

/// The calls from one function to another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Call {
    /// Index of the callee in [`Profile::functions`].
    pub callee: usize,
    /// How many calls.
    pub count: u64,
    /// The cost of those calls, everything the callee did in them included.
    pub inclusive: u64,
}

/// A callgrind output file, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The command (`cmd:`), when the file says.
    pub command: Option<String>,
    /// The total of the event (`totals:`, else `summary:`, else the sum of self costs).
    pub total: u64,
    /// Every function that ran or was called.
    pub functions: Vec<Function>,
}

impl Profile {
    /// Inclusive cost per function (its self cost and the cost of its calls to other functions):
    /// a recursive call is left out, as its cost is already inside the outer call.
    pub fn inclusive(&self) -> Vec<u64> {
        self.functions
            .iter()
            .enumerate()
            .map(|(i, f)| f.self_cost + f.calls.iter().filter(|c| c.callee != i).map(|c| c.inclusive).sum::<u64>())
            .collect()
    }

    /// Calls into each function, from all callers.
    pub fn calls_into(&self) -> Vec<u64> {
        let mut out = vec![0; self.functions.len()];
        for f in &self.functions {
            for c in &f.calls {
                out[c.callee] += c.count;
            }
        }
        out
    }
}

/// The three id spaces of name compression.
#[derive(Default)]
struct Names {
    objects: HashMap<u64, String>,
    files: HashMap<u64, String>,
    functions: HashMap<u64, String>,
}

/// `(12) name` defines id 12 in `space`; `(12)` looks it up; a name without an id is itself.
fn resolve(space: &mut HashMap<u64, String>, text: &str, line: usize) -> Result<String, ParseError> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('(') else { return Ok(text.to_string()) };
    let err = |what: String| ParseError { line, what };
    let (id, name) = rest.split_once(')').ok_or_else(|| err(format!("unclosed name id in `{text}`")))?;
    let id: u64 = id.parse().map_err(|_| err(format!("bad name id in `{text}`")))?;
    let name = name.trim();
    if name.is_empty() {
        space.get(&id).cloned().ok_or_else(|| err(format!("name id ({id}) used before it was defined")))
    } else {
        space.insert(id, name.to_string());
        Ok(name.to_string())
    }
}

/// What the next position line is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The function's own cost.
    SelfCost,
    /// The inclusive cost of the call announced by `calls=`.
    CallCost { count: u64 },
    /// The source of a jump: no cost of its own.
    Jump,
}

/// Reads a callgrind output file, counting the event `event` (`Ir`: instructions).
pub fn parse(text: &str, event: &str) -> Result<Profile, ParseError> {
    let mut names = Names::default();
    let mut profile = Profile::default();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut positions = 1usize;
    let mut event_at: Option<usize> = None;
    let (mut totals, mut summary) = (None, None);
    let mut object = String::new();
    let mut current: Option<usize> = None;
    let (mut called_object, mut called): (Option<String>, Option<usize>) = (None, None);
    let mut next = Next::SelfCost;
    let mut function = |profile: &mut Profile, object: &str, name: String| -> usize {
        *index.entry((object.to_string(), name.clone())).or_insert_with(|| {
            profile.functions.push(Function { object: object.to_string(), name, ..Function::default() });
            profile.functions.len() - 1
        })
    };
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim_end();
        let err = |what: String| ParseError { line: line_no, what };
        let Some(first) = line.chars().next() else { continue };
        if first == '#' {
            continue;
        }
        if first.is_ascii_digit() || matches!(first, '+' | '-' | '*') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < positions {
                return Err(err(format!("a cost line needs {positions} position(s): `{line}`")));
            }
            let at = event_at.ok_or_else(|| err("a cost line before the `events:` line".into()))?;
            let cost = match fields.get(positions + at) {
                Some(v) => v.parse::<u64>().map_err(|_| err(format!("bad cost `{v}`")))?,
                None => 0,
            };
            match std::mem::replace(&mut next, Next::SelfCost) {
                Next::Jump => {}
                Next::SelfCost => {
                    let f = current.ok_or_else(|| err("a cost line outside a function (no `fn=` yet)".into()))?;
                    profile.functions[f].self_cost += cost;
                }
                Next::CallCost { count } => {
                    let f = current.ok_or_else(|| err("a call outside a function (no `fn=` yet)".into()))?;
                    let callee = called.take().ok_or_else(|| err("`calls=` without a `cfn=` before it".into()))?;
                    called_object = None;
                    let calls = &mut profile.functions[f].calls;
                    match calls.iter_mut().find(|c| c.callee == callee) {
                        Some(c) => {
                            c.count += count;
                            c.inclusive += cost;
                        }
                        None => calls.push(Call { callee, count, inclusive: cost }),
                    }
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            return Err(err(format!("unrecognised line `{line}`")));
        };
        let header = line.as_bytes()[key.len()] == b':';
        match (key, header) {
            ("positions", true) => positions = value.split_whitespace().count().max(1),
            ("events", true) => {
                let events: Vec<&str> = value.split_whitespace().collect();
                event_at =
                    Some(events.iter().position(|e| *e == event).ok_or_else(|| {
                        err(format!("the file has no `{event}` event (events: {})", events.join(" ")))
                    })?);
            }
            ("totals", true) => totals = Some(sum_field(value, event_at)),
            ("summary", true) => summary = Some(sum_field(value, event_at)),
            ("cmd", true) => profile.command = Some(value.trim().to_string()),
            (_, true) => {}
            ("ob", false) => object = resolve(&mut names.objects, value, line_no)?,
            ("fl" | "fi" | "fe" | "cfi" | "cfl", false) => {
                resolve(&mut names.files, value, line_no)?;
            }
            ("fn", false) => {
                let name = resolve(&mut names.functions, value, line_no)?;
                current = Some(function(&mut profile, &object, name));
            }
            ("cob", false) => called_object = Some(resolve(&mut names.objects, value, line_no)?),
            ("cfn", false) => {
                let name = resolve(&mut names.functions, value, line_no)?;
                let callee_object = called_object.clone().unwrap_or_else(|| object.clone());
                called = Some(function(&mut profile, &callee_object, name));
            }
            ("calls", false) => {
                let count = value.split_whitespace().next().and_then(|c| c.parse().ok());
                next = Next::CallCost { count: count.ok_or_else(|| err(format!("bad call count in `{line}`")))? };
            }
            ("jump" | "jcnd", false) => next = Next::Jump,
            // `jfi=`, `jfn=` and future keys of the body carry nothing counted here.
            _ => {}
        }
    }
    profile.total = totals.or(summary).flatten().unwrap_or_else(|| profile.functions.iter().map(|f| f.self_cost).sum());
    Ok(profile)
}

/// The value of the event in a `totals:`/`summary:` line.
fn sum_field(value: &str, event_at: Option<usize>) -> Option<u64> {
    value.split_whitespace().nth(event_at.unwrap_or(0)).and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(p: &'a Profile, object: &str, name: &str) -> (usize, &'a Function) {
        let i = p.functions.iter().position(|f| f.object == object && f.name == name).unwrap_or_else(|| {
            panic!("no {object} {name} in {:#?}", p.functions);
        });
        (i, &p.functions[i])
    }

    #[test]
    fn compressed_names_calls_and_inclusive_costs() {
        // main (exe) runs 10 itself, calls work twice (500 inclusive) and strlen in libc once (7);
        // work runs 480 itself and calls strlen (20); the second block of main adds 5 more.
        let text = "\
# callgrind format
version: 1
cmd:  ./app --x
positions: line
events: Ir
summary: 1000

ob=(1) /tmp/app
fl=(1) ???
fn=(1) main
0 6
+2 4
cfn=(2) work
calls=2 0
* 500
cob=(2) /lib/libc.so.6
cfi=(2) strlen.S
cfn=(3) strlen
calls=1 0
0 7

fn=(2)
0 480
cob=(2)
cfn=(3)
calls=4 0
0 20

ob=(2)
fl=(2)
fn=(3)
0 27

ob=(1)
fl=(1)
fn=(1)
fi=(3) inlined.rs
0 5
fe=(1)
totals: 1017
";
        let p = parse(text, "Ir").unwrap();
        assert_eq!(p.command.as_deref(), Some("./app --x"));
        assert_eq!(p.total, 1017, "totals win over summary");
        let (main_i, main) = find(&p, "/tmp/app", "main");
        let (work_i, work) = find(&p, "/tmp/app", "work");
        let (strlen_i, strlen) = find(&p, "/lib/libc.so.6", "strlen");
        assert_eq!((main.self_cost, work.self_cost, strlen.self_cost), (15, 480, 27));
        assert_eq!(
            main.calls,
            [Call { callee: work_i, count: 2, inclusive: 500 }, Call { callee: strlen_i, count: 1, inclusive: 7 }]
        );
        assert_eq!(work.calls, [Call { callee: strlen_i, count: 4, inclusive: 20 }]);
        let inclusive = p.inclusive();
        assert_eq!(inclusive[main_i], 15 + 500 + 7);
        assert_eq!(inclusive[work_i], 500);
        assert_eq!(p.calls_into()[strlen_i], 5);
        assert_eq!(p.functions.len(), 3, "the same name in another block is the same function");
    }

    #[test]
    fn the_called_object_applies_to_one_call_only_and_the_event_is_found_by_name() {
        let text = "\
positions: instr line
events: Dr Ir
ob=(1) a.out
fn=(1) f
0x10 3 100 5
cob=(2) lib.so
cfn=(2) g
calls=1 0x20 4
0x10 3 0 40
cfn=(3) h
calls=1 0x20 4
0x10 3 1
";
        let p = parse(text, "Ir").unwrap();
        let (_, f) = find(&p, "a.out", "f");
        assert_eq!(f.self_cost, 5);
        let (g, _) = find(&p, "lib.so", "g");
        let (h, _) = find(&p, "a.out", "h");
        assert_eq!(f.calls, [Call { callee: g, count: 1, inclusive: 40 }, Call { callee: h, count: 1, inclusive: 0 }]);
        assert_eq!(p.total, 5, "no totals: the sum of self costs (g and h ran nothing listed)");
    }

    #[test]
    fn recursion_is_not_counted_twice_and_jumps_cost_nothing() {
        let text = "\
events: Ir
fn=(1) fib
0 10
cfn=(1)
calls=9 0
0 90
jump=3 0
0
fn=(2) top
0 1
cfn=(1)
calls=1 0
0 100
";
        let p = parse(text, "Ir").unwrap();
        let (fib, f) = find(&p, "", "fib");
        assert_eq!(f.self_cost, 10, "the jump's position line is not a cost");
        let (top, _) = find(&p, "", "top");
        assert_eq!(p.inclusive()[fib], 10);
        assert_eq!(p.inclusive()[top], 101);
    }

    #[test]
    fn broken_files_name_the_line_and_the_problem() {
        let e = parse("events: Ir\nfn=(3)\n", "Ir").unwrap_err();
        assert_eq!((e.line, e.what.as_str()), (2, "name id (3) used before it was defined"));
        let e = parse("events: Ir\n0 5\n", "Ir").unwrap_err();
        assert!(e.what.contains("no `fn=` yet"), "{e}");
        let e = parse("events: Dr\nfn=f\n0 5\n", "Ir").unwrap_err();
        assert!(e.to_string().contains("line 1: the file has no `Ir` event (events: Dr)"), "{e}");
        let e = parse("events: Ir\nfn=f\n0 x\n", "Ir").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("events: Ir\nfn=f\ncalls=1 0\n0 5\n", "Ir").unwrap_err();
        assert!(e.what.contains("without a `cfn=`"), "{e}");
    }
}
