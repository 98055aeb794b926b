//! `--measure profile`: the callgrind runs that count instructions also write their profile, and
//! the median run's is kept — its functions by self and inclusive instructions with their objects,
//! crates and groups, the totals per object, crate and group, and the call tree — bounded in size:
//! functions under a small share of the run are folded together.

use std::collections::HashMap;
use std::path::Path;

use super::callgrind;
use super::symbols;
use crate::results::{CallNode, Folded, FunctionGroup, GroupShare, Profile, ProfiledFunction, Share};

/// Functions that ran less than this share of the run themselves are folded into `other`: a
/// tenth of the default instruction noise, so that no change the noise lets through is hidden.
pub const FOLD_SHARE: f64 = 0.0005;
/// At most this many functions are kept, the rest folded.
pub const MAX_FUNCTIONS: usize = 400;
/// Calls below this share of the run are left out of the call tree.
pub const TREE_SHARE: f64 = 0.003;
/// Levels of the call tree kept at most.
pub const TREE_DEPTH: usize = 48;

/// The callgrind options of a profiled run: names as the linker wrote them (demangled here), no
/// recursion levels (`f'2`), whose costs would be split from the function's, and the functions
/// below `main` under their own names (`_start`, `__libc_start_call_main`).
pub const OPTIONS: [&str; 3] = ["--demangle=no", "--separate-recs=1", "--show-below-main=yes"];

/// What the profile adds to a merged function of the call graph.
struct Meta {
    krate: Option<String>,
    grouping: symbols::Grouping,
    /// Decided once every function is merged.
    group: FunctionGroup,
}

/// Reads a callgrind output file of a run of `program` into a bounded profile whose reports list
/// `top` functions.
pub fn read(file: &Path, program: &Path, top: usize) -> Result<Profile, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("could not read {}: {e}", file.display()))?;
    let parsed = callgrind::parse(&text, "Ir").map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(build(&parsed, program, top))
}

/// The bounded profile of a parsed run of `program`, whose reports list `top` functions.
pub fn build(parsed: &callgrind::Profile, program: &Path, top: usize) -> Profile {
    let (graph, meta) = merge(parsed, program);
    let (inclusive, calls_into) = (graph.inclusive(), graph.calls_into());
    let merged = &graph.functions;
    let total = parsed.total.max(1);
    let folded_below = ((total as f64 * FOLD_SHARE) as u64).max(1);
    let mut order: Vec<usize> = (0..merged.len()).collect();
    order.sort_by(|&a, &b| merged[b].self_cost.cmp(&merged[a].self_cost).then(merged[a].name.cmp(&merged[b].name)));
    let kept = order.iter().take(MAX_FUNCTIONS).take_while(|&&i| merged[i].self_cost >= folded_below).count();
    let (kept, folded) = order.split_at(kept);
    let functions = kept
        .iter()
        .map(|&i| ProfiledFunction {
            name: merged[i].name.clone(),
            object: merged[i].object.clone(),
            krate: meta[i].krate.clone(),
            group: meta[i].group,
            self_instructions: merged[i].self_cost,
            inclusive: inclusive[i],
            calls: calls_into[i],
        })
        .collect();
    let folded: Vec<u64> = folded.iter().map(|&i| merged[i].self_cost).filter(|&c| c > 0).collect();
    let other = Folded { functions: folded.len() as u64, instructions: folded.iter().sum() };
    let objects = totals(merged.iter().map(|f| (f.object.clone(), f.self_cost)));
    let crates = totals(merged.iter().zip(&meta).filter_map(|(f, m)| Some((m.krate.clone()?, f.self_cost))));
    let groups = FunctionGroup::ALL
        .iter()
        .map(|&g| GroupShare {
            group: g,
            instructions: merged.iter().zip(&meta).filter(|(_, m)| m.group == g).map(|(f, _)| f.self_cost).sum(),
        })
        .filter(|g| g.instructions > 0)
        .collect();
    let tree = call_tree(&graph, &meta, &inclusive, &calls_into, total);
    Profile { total: parsed.total, top, functions, other, folded_below, objects, crates, groups, tree }
}

/// The call graph by object file name and display name (two raw symbols may read the same once
/// demangled), with each function's crate and group.
fn merge(parsed: &callgrind::Profile, program: &Path) -> (callgrind::Profile, Vec<Meta>) {
    let program_name = symbols::object_name(&program.display().to_string());
    let canonical = std::fs::canonicalize(program).ok();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut graph = callgrind::Profile { total: parsed.total, ..callgrind::Profile::default() };
    let mut meta: Vec<Meta> = Vec::new();
    let mut map = Vec::with_capacity(parsed.functions.len());
    for f in &parsed.functions {
        let object = symbols::object_name(&f.object);
        let executable = object == program_name || canonical.as_deref() == Some(Path::new(&f.object));
        let symbol = symbols::read(&f.name);
        let at = *index.entry((object.clone(), symbol.name.clone())).or_insert_with(|| {
            let grouping = symbols::group(&object, &symbol.name, symbol.krate.as_deref(), executable);
            meta.push(Meta { krate: symbol.krate, grouping, group: grouping.fallback() });
            graph.functions.push(callgrind::Function { name: symbol.name, object, ..callgrind::Function::default() });
            graph.functions.len() - 1
        });
        map.push(at);
    }
    for (f, &at) in parsed.functions.iter().zip(&map) {
        let merged = &mut graph.functions[at];
        merged.self_cost += f.self_cost;
        for c in &f.calls {
            let callee = map[c.callee];
            match merged.calls.iter_mut().find(|x| x.callee == callee) {
                Some(x) => {
                    x.count += c.count;
                    x.inclusive += c.inclusive;
                }
                None => merged.calls.push(callgrind::Call { callee, ..*c }),
            }
        }
    }
    decide_groups(&graph, &mut meta);
    (graph, meta)
}

/// Decides the groups that callers decide ([`symbols::Grouping::Callers`]): a function takes the
/// group of the callers that spent the most in it, when it may (`strcmp` in `ld.so` called by
/// `check_match` is symbol lookup; libc's `sscanf` called by Rust's runtime is start-up). A
/// function waits until all its callers are decided; when none can (cycles), those with some
/// decided callers go first.
fn decide_groups(graph: &callgrind::Profile, meta: &mut [Meta]) {
    let mut callers: Vec<Vec<(usize, u64)>> = vec![Vec::new(); meta.len()];
    for (i, f) in graph.functions.iter().enumerate() {
        for c in f.calls.iter().filter(|c| c.callee != i) {
            callers[c.callee].push((i, c.inclusive));
        }
    }
    let mut decided: Vec<Option<FunctionGroup>> = meta
        .iter()
        .map(|m| match m.grouping {
            symbols::Grouping::Fixed(g) => Some(g),
            symbols::Grouping::Callers(_) => None,
        })
        .collect();
    let mut partial = false;
    loop {
        let mut changed = false;
        for i in 0..meta.len() {
            if decided[i].is_some() || (!partial && callers[i].iter().any(|&(c, _)| decided[c].is_none())) {
                continue;
            }
            let mut spent: HashMap<FunctionGroup, u64> = HashMap::new();
            for &(c, cost) in &callers[i] {
                if let Some(g) = decided[c] {
                    *spent.entry(g).or_default() += cost;
                }
            }
            if partial && spent.is_empty() {
                continue;
            }
            let best = spent.into_iter().max_by_key(|&(g, cost)| (cost, std::cmp::Reverse(g))).map(|(g, _)| g);
            let grouping = meta[i].grouping;
            decided[i] = Some(best.filter(|&g| grouping.takes(g)).unwrap_or(grouping.fallback()));
            changed = true;
        }
        match (changed, partial) {
            (true, _) => partial = false,
            (false, false) => partial = true,
            (false, true) => break,
        }
    }
    for (m, g) in meta.iter_mut().zip(decided) {
        m.group = g.unwrap_or(m.grouping.fallback());
    }
}

/// Totals per name, most first.
fn totals(items: impl Iterator<Item = (String, u64)>) -> Vec<Share> {
    let mut by: HashMap<String, u64> = HashMap::new();
    for (name, cost) in items {
        *by.entry(name).or_default() += cost;
    }
    let mut out: Vec<Share> =
        by.into_iter().filter(|(_, c)| *c > 0).map(|(name, instructions)| Share { name, instructions }).collect();
    out.sort_by(|a, b| b.instructions.cmp(&a.instructions).then(a.name.cmp(&b.name)));
    out
}

/// The call tree from the functions nobody called (the loader's entry, a thread's start): each
/// call's share of its caller's inclusive instructions, applied down the path (callgrind keeps
/// costs per caller and callee, not per path), without cycles, calls under [`TREE_SHARE`] left out.
fn call_tree(
    graph: &callgrind::Profile,
    meta: &[Meta],
    inclusive: &[u64],
    calls_into: &[u64],
    total: u64,
) -> Vec<CallNode> {
    let min = (total as f64 * TREE_SHARE).max(1.0);
    let mut roots: Vec<usize> = (0..meta.len()).filter(|&i| calls_into[i] == 0 && inclusive[i] as f64 >= min).collect();
    roots.sort_by_key(|&i| std::cmp::Reverse(inclusive[i]));
    let walk = Walk { graph, meta, inclusive, min };
    let mut path = Vec::new();
    roots.into_iter().map(|r| walk.node(r, inclusive[r] as f64, &mut path)).collect()
}

/// What a walk down the call graph reads.
struct Walk<'a> {
    graph: &'a callgrind::Profile,
    meta: &'a [Meta],
    inclusive: &'a [u64],
    /// Calls below this many instructions are left out.
    min: f64,
}

impl Walk<'_> {
    /// Function `f`, reached by `path`, with `here` of its inclusive instructions on that path.
    fn node(&self, f: usize, here: f64, path: &mut Vec<usize>) -> CallNode {
        let function = &self.graph.functions[f];
        let mut children = Vec::new();
        if path.len() < TREE_DEPTH && self.inclusive[f] > 0 {
            path.push(f);
            let scale = here / self.inclusive[f] as f64;
            let mut calls: Vec<&callgrind::Call> =
                function.calls.iter().filter(|c| c.callee != f && !path.contains(&c.callee)).collect();
            calls.sort_by_key(|c| std::cmp::Reverse(c.inclusive));
            for c in calls {
                let share = c.inclusive as f64 * scale;
                if share >= self.min {
                    children.push(self.node(c.callee, share, path));
                }
            }
            path.pop();
        }
        CallNode {
            name: function.name.clone(),
            object: function.object.clone(),
            instructions: here.round() as u64,
            group: self.meta[f].group,
            children,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loader's entry relocates (looking symbols up through `strcmp`) and starts the program,
    /// whose `_start` asks libc for its stack and whose `main` calls `work` and libc's `malloc`.
    const START: &str = "\
events: Ir
ob=(1) /lib64/ld-linux-x86-64.so.2
fn=(1) 0x000000000001ab70
0 100
cfn=(2) _dl_relocate_object
calls=1 0
0 3000
cob=(2) /tmp/stage/app
cfn=(5) _start
calls=1 0
0 16900
fn=(2)
0 1000
cfn=(3) do_lookup_x
calls=50 0
0 2000
fn=(3)
0 1200
cfn=(4) strcmp
calls=500 0
0 800
fn=(4)
0 800
ob=(2)
fn=(5)
0 30
cob=(3) /usr/lib/libc.so.6
cfn=(9) pthread_getattr_np
calls=1 0
0 20
cfn=(6) _ZN3app4main17h0123456789abcdefE
calls=1 0
0 16850
fn=(6)
0 50
cfn=(7) _ZN3app4work17h0123456789abcdefE
calls=3 0
0 16000
cob=(3)
cfn=(8) malloc
calls=2 0
0 800
fn=(7)
0 16000
ob=(3)
fn=(8)
0 800
fn=(9)
0 20
totals: 20000
";

    fn profile() -> Profile {
        build(&callgrind::parse(START, "Ir").unwrap(), Path::new("/somewhere/else/app"), 10)
    }

    #[test]
    fn functions_have_demangled_names_objects_crates_groups_and_inclusive_costs() {
        let p = profile();
        assert_eq!(p.total, 20_000);
        let f = |name: &str| p.functions.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{name}: {p:#?}"));
        let work = f("app::work");
        assert_eq!((work.object.as_str(), work.krate.as_deref()), ("app", Some("app")));
        assert_eq!((work.self_instructions, work.inclusive, work.calls), (16_000, 16_000, 3));
        assert_eq!(work.group, FunctionGroup::Program);
        assert_eq!(f("app::main").inclusive, 50 + 16_000 + 800);
        assert_eq!(f("_dl_relocate_object").group, FunctionGroup::Relocation);
        assert_eq!(f("do_lookup_x").group, FunctionGroup::SymbolLookup);
        assert_eq!(f("strcmp").group, FunctionGroup::SymbolLookup, "a loader helper takes its caller's group");
        assert_eq!(f("0x000000000001ab70").group, FunctionGroup::Loading);
        assert_eq!(f("_start").group, FunctionGroup::Runtime);
        assert_eq!(f("malloc").group, FunctionGroup::Libraries, "called by the program");
        assert_eq!(f("pthread_getattr_np").group, FunctionGroup::Runtime, "called by the runtime");
        // Most self instructions first.
        assert_eq!(p.functions[0].name, "app::work");
        let groups: Vec<(FunctionGroup, u64)> = p.groups.iter().map(|g| (g.group, g.instructions)).collect();
        assert_eq!(
            groups,
            [
                (FunctionGroup::Relocation, 1000),
                (FunctionGroup::SymbolLookup, 2000),
                (FunctionGroup::Loading, 100),
                (FunctionGroup::Runtime, 50),
                (FunctionGroup::Program, 16_050),
                (FunctionGroup::Libraries, 800),
            ]
        );
        assert_eq!(p.objects[0], Share { name: "app".into(), instructions: 30 + 50 + 16_000 });
        assert_eq!(p.crates, [Share { name: "app".into(), instructions: 16_050 }]);
    }

    #[test]
    fn small_functions_are_folded_and_the_tree_follows_the_calls() {
        let p = profile();
        // 0.05% of 20 000 is 10: the 50-instruction functions stay, nothing is folded.
        assert_eq!((p.folded_below, p.other), (10, Folded::default()));
        let [root] = &p.tree[..] else { panic!("one root: {:#?}", p.tree) };
        assert_eq!((root.name.as_str(), root.instructions), ("0x000000000001ab70", 20_000));
        let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["_start", "_dl_relocate_object"]);
        let main = &root.children[0].children[0];
        assert_eq!((main.name.as_str(), main.instructions), ("app::main", 16_850));
        assert_eq!(main.children[0].instructions, 16_000);
    }
}
