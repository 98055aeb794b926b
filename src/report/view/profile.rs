//! A start's profile (`--measure profile`) in a report: per row the share of each group (the
//! loader's relocation and symbol lookup, start-up, the program, …) and the functions that ran
//! the most instructions themselves; per compared row the differential — the functions, objects,
//! crates and groups whose self instructions changed beyond the instruction noise — the biggest
//! mover, and the loader's facts when relocation or symbol lookup is what grew.

use std::collections::HashMap;

use crate::measure::process::instructions;
use crate::results::{BenchmarkResult, FunctionGroup, Profile, ProfiledFunction, Relocations};

/// A row's profile, ready to render.
pub struct ProfileView {
    /// `2 394 892 instructions (median callgrind run): loader 8.3% (relocation 1.7%, …) · …`.
    pub summary: String,
    /// The functions that ran the most instructions themselves (`--top`).
    pub functions: Vec<FunctionLine>,
}

/// A function of a row's profile.
pub struct FunctionLine {
    /// Its self instructions, grouped by thousands.
    pub instructions: String,
    /// Its share of the run, in percent.
    pub share: f64,
    /// Its name.
    pub name: String,
    /// `libc.so.6`, or `app, crate clap`.
    pub place: String,
    /// Its group's label.
    pub group: &'static str,
}

impl FunctionLine {
    /// `  48 609   2.0%  __vfscanf_internal (libc.so.6) · start-up/exit`.
    pub fn text(&self, width: usize) -> String {
        format!("{:>width$} {:>5.1}%  {} ({}) · {}", self.instructions, self.share, self.name, self.place, self.group)
    }
}

/// Thousands apart: `38 412`, with a sign when asked (`+38 412`, `−1 200`).
pub fn grouped(v: i64, signed: bool) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    let sign = match (signed, v.signum()) {
        (true, 1) => "+",
        (_, -1) => "−",
        _ => "",
    };
    format!("{sign}{out}")
}

fn percent_of(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

fn place(f: &ProfiledFunction) -> String {
    match &f.krate {
        Some(k) => format!("{}, crate {k}", f.object),
        None => f.object.clone(),
    }
}

/// The share of each group: the loader's three together first, then the others.
fn group_shares(p: &Profile) -> String {
    let of = |g: FunctionGroup| p.groups.iter().find(|s| s.group == g).map_or(0, |s| s.instructions);
    let pct = |v: u64| format!("{:.1}%", percent_of(v, p.total));
    let loader: u64 = FunctionGroup::ALL.iter().filter(|g| g.is_loader()).map(|&g| of(g)).sum();
    let mut parts = vec![format!(
        "loader {} (relocation {}, symbol lookup {}, other {})",
        pct(loader),
        pct(of(FunctionGroup::Relocation)),
        pct(of(FunctionGroup::SymbolLookup)),
        pct(of(FunctionGroup::Loading))
    )];
    parts.extend(
        FunctionGroup::ALL
            .iter()
            .filter(|g| !g.is_loader() && of(**g) > 0)
            .map(|&g| format!("{} {}", g.label(), pct(of(g)))),
    );
    parts.join(" · ")
}

/// The view of a row's profile.
pub fn view(p: &Profile) -> ProfileView {
    let functions = p
        .functions
        .iter()
        .take(p.top)
        .map(|f| FunctionLine {
            instructions: grouped(f.self_instructions as i64, false),
            share: percent_of(f.self_instructions, p.total),
            name: f.name.clone(),
            place: place(f),
            group: f.group.label(),
        })
        .collect();
    ProfileView {
        summary: format!("{} instructions (median callgrind run): {}", grouped(p.total as i64, false), group_shares(p)),
        functions,
    }
}

/// A row's profile against the baseline's.
pub struct ProfileDiff {
    /// The benchmark.
    pub id: String,
    /// Changes within ± this many instructions are noise: `instructions-noise` of the baseline's
    /// run.
    pub noise: u64,
    /// Functions whose self instructions changed beyond the noise, the largest change first
    /// (`--top` of them).
    pub functions: Vec<FunctionChange>,
    /// The same by object, crate and group, beyond the noise.
    pub objects: Vec<TotalChange>,
    /// By Rust crate.
    pub crates: Vec<TotalChange>,
    /// By group.
    pub groups: Vec<TotalChange>,
    /// When the loader's relocation and symbol lookup grew beyond the noise: by how much, and the
    /// facts that say why (relocations in the file, relocations the loader processed).
    pub loader: Option<String>,
}

/// Whether a function ran on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Listed on both sides.
    Both,
    /// Only among the candidate's functions (the baseline's list ends at its fold).
    Added,
    /// Only among the baseline's.
    Removed,
}

/// A function whose self instructions changed.
pub struct FunctionChange {
    /// Its name.
    pub name: String,
    /// Its object and crate.
    pub place: String,
    /// Its group.
    pub group: FunctionGroup,
    /// Self instructions of the baseline and the candidate (`None` where not listed).
    pub sides: [Option<u64>; 2],
    /// Candidate − baseline.
    pub delta: i64,
    /// Listed where.
    pub presence: Presence,
}

impl FunctionChange {
    /// The change in percent of the baseline's, or `added`/`removed`.
    pub fn percent_text(&self) -> String {
        match (self.presence, self.sides[0]) {
            (Presence::Added, _) => "added".into(),
            (Presence::Removed, _) => "removed".into(),
            (Presence::Both, Some(b)) if b > 0 => {
                crate::report::format::signed_percent(self.delta as f64 * 100.0 / b as f64)
            }
            _ => "-".into(),
        }
    }

    /// `72 020 → 144 051`, with `-` for a side where it is not listed.
    pub fn sides_text(&self) -> String {
        let side = |v: Option<u64>| v.map_or_else(|| "-".into(), |v| grouped(v as i64, false));
        format!("{} → {}", side(self.sides[0]), side(self.sides[1]))
    }

    /// `+72 031 instructions in work::extra (+100.0%)`: the line that names the biggest mover.
    pub fn mover(&self) -> String {
        let pct = self.percent_text();
        format!("{} instructions in {} [{}] ({pct})", grouped(self.delta, true), self.name, self.place)
    }
}

/// The self instructions of an object, crate or group on both sides.
pub struct TotalChange {
    /// Its name.
    pub name: String,
    /// Baseline and candidate.
    pub sides: [u64; 2],
}

impl TotalChange {
    /// `libc.so.6 +1 234 (+0.8%)`.
    pub fn text(&self) -> String {
        let delta = self.sides[1] as i64 - self.sides[0] as i64;
        let pct = if self.sides[0] > 0 {
            format!(" ({})", crate::report::format::signed_percent(delta as f64 * 100.0 / self.sides[0] as f64))
        } else {
            " (added)".to_string()
        };
        format!("{} {}{pct}", self.name, grouped(delta, true))
    }
}

/// Totals on both sides whose change is beyond `noise`, the largest change first.
fn total_changes(base: &[(String, u64)], cand: &[(String, u64)], noise: u64) -> Vec<TotalChange> {
    let mut names: Vec<&String> = base.iter().chain(cand).map(|(n, _)| n).collect();
    names.sort();
    names.dedup();
    let of = |list: &[(String, u64)], name: &str| list.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v);
    let mut out: Vec<TotalChange> = names
        .into_iter()
        .map(|n| TotalChange { name: n.clone(), sides: [of(base, n), of(cand, n)] })
        .filter(|t| t.sides[0].abs_diff(t.sides[1]) > noise)
        .collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.sides[0].abs_diff(t.sides[1])));
    out
}

/// The differential of a benchmark's profile against the baseline's, when both sides have one.
pub fn diff(base: &BenchmarkResult, cand: &BenchmarkResult) -> Option<ProfileDiff> {
    let (b, c) = (base.facts.profile.as_ref()?, cand.facts.profile.as_ref()?);
    let tolerance = cand.metrics.get(instructions::METRIC).and_then(|d| d.tolerance);
    let noise = (b.total as f64 * tolerance.unwrap_or(instructions::DEFAULT_TOLERANCE)) as u64;
    let (before, after) = (listed(b), listed(c));
    let mut functions: Vec<FunctionChange> = Vec::new();
    for f in &c.functions {
        let was = before.get(&f.key()).map(|x| x.self_instructions);
        // Not listed before, yet small enough to have been folded there: no change can be told.
        if was.is_none() && f.self_instructions <= b.folded_below {
            continue;
        }
        functions.push(change(f, [was, Some(f.self_instructions)]));
    }
    for f in b.functions.iter().filter(|f| !after.contains_key(&f.key()) && f.self_instructions > c.folded_below) {
        functions.push(change(f, [Some(f.self_instructions), None]));
    }
    functions.retain(|f| f.delta.unsigned_abs() > noise);
    functions.sort_by(|x, y| y.delta.unsigned_abs().cmp(&x.delta.unsigned_abs()).then(x.name.cmp(&y.name)));
    functions.truncate(c.top.max(1));
    let pairs =
        |list: &[crate::results::Share]| list.iter().map(|s| (s.name.clone(), s.instructions)).collect::<Vec<_>>();
    let groups =
        |p: &Profile| p.groups.iter().map(|g| (g.group.label().to_string(), g.instructions)).collect::<Vec<_>>();
    Some(ProfileDiff {
        id: cand.id.clone(),
        noise,
        loader: loader_note(base, cand, noise),
        functions,
        objects: total_changes(&pairs(&b.objects), &pairs(&c.objects), noise),
        crates: total_changes(&pairs(&b.crates), &pairs(&c.crates), noise),
        groups: total_changes(&groups(b), &groups(c), noise),
    })
}

/// The functions a profile lists, by [`ProfiledFunction::key`].
fn listed(p: &Profile) -> HashMap<String, &ProfiledFunction> {
    p.functions.iter().map(|f| (f.key(), f)).collect()
}

fn change(f: &ProfiledFunction, sides: [Option<u64>; 2]) -> FunctionChange {
    let presence = match sides {
        [Some(_), Some(_)] => Presence::Both,
        [None, _] => Presence::Added,
        [_, None] => Presence::Removed,
    };
    FunctionChange {
        name: f.name.clone(),
        place: place(f),
        group: f.group,
        delta: sides[1].unwrap_or(0) as i64 - sides[0].unwrap_or(0) as i64,
        sides,
        presence,
    }
}

/// `the loader's relocation and symbol lookup grew by +52 100 instructions: relocations in the
/// file 310 → 2 410 (relative 290 → 300, symbolic 12 → 2 002, PLT 8 → 108), the loader processed
/// 1 200 → 3 400`, when they grew beyond the noise.
fn loader_note(base: &BenchmarkResult, cand: &BenchmarkResult, noise: u64) -> Option<String> {
    let loader = |b: &BenchmarkResult| -> Option<i64> {
        let p = b.facts.profile.as_ref()?;
        let of = |g: FunctionGroup| p.groups.iter().find(|s| s.group == g).map_or(0, |s| s.instructions as i64);
        Some(of(FunctionGroup::Relocation) + of(FunctionGroup::SymbolLookup))
    };
    let grew = loader(cand)? - loader(base)?;
    if grew <= noise as i64 {
        return None;
    }
    let mut note = format!("the loader's relocation and symbol lookup grew by {} instructions", grouped(grew, true));
    let n = |v: u64| grouped(v as i64, false);
    if let (Some(x), Some(y)) = (&base.facts.relocations, &cand.facts.relocations) {
        let sum = |r: &Relocations| r.relative + r.symbolic + r.plt;
        note.push_str(&format!(
            ": relocations in the file {} → {} (relative {} → {}, symbolic {} → {}, PLT {} → {})",
            n(sum(x)),
            n(sum(y)),
            n(x.relative),
            n(y.relative),
            n(x.symbolic),
            n(y.symbolic),
            n(x.plt),
            n(y.plt)
        ));
    }
    if let (Some(x), Some(y)) = (&base.facts.loader, &cand.facts.loader) {
        note.push_str(&format!(
            "; relocations the loader processed {} → {} (LD_DEBUG=statistics)",
            n(x.relocations),
            n(y.relocations)
        ));
    }
    if let (Some(x), Some(y)) = (&base.facts.needed, &cand.facts.needed) {
        let new: Vec<&str> = y.iter().filter(|d| !x.contains(d)).map(String::as_str).collect();
        if !new.is_empty() {
            note.push_str(&format!("; new DT_NEEDED: {}", new.join(", ")));
        }
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{GroupShare, LoaderStats, Share};

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(38_412, true), "+38 412");
        assert_eq!(grouped(-1_200, true), "−1 200");
        assert_eq!(grouped(2_394_892, false), "2 394 892");
        assert_eq!(grouped(0, true), "0");
        assert_eq!(grouped(999, false), "999");
    }

    fn function(name: &str, object: &str, group: FunctionGroup, own: u64) -> ProfiledFunction {
        ProfiledFunction {
            name: name.into(),
            object: object.into(),
            krate: None,
            group,
            self_instructions: own,
            inclusive: own,
            calls: 1,
        }
    }

    /// A profile of these functions, totals per object and group added up from them.
    fn profile(functions: Vec<ProfiledFunction>, folded_below: u64) -> Profile {
        let total = functions.iter().map(|f| f.self_instructions).sum();
        let mut objects: Vec<Share> = Vec::new();
        let mut groups: Vec<GroupShare> = Vec::new();
        for f in &functions {
            match objects.iter_mut().find(|o| o.name == f.object) {
                Some(o) => o.instructions += f.self_instructions,
                None => objects.push(Share { name: f.object.clone(), instructions: f.self_instructions }),
            }
            match groups.iter_mut().find(|g| g.group == f.group) {
                Some(g) => g.instructions += f.self_instructions,
                None => groups.push(GroupShare { group: f.group, instructions: f.self_instructions }),
            }
        }
        Profile { total, top: 10, functions, folded_below, objects, groups, ..Profile::default() }
    }

    /// The first benchmark of the checked-in comparison, on both sides, with these profiles.
    fn sides(base: Profile, cand: Profile) -> (BenchmarkResult, BenchmarkResult) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json");
        let doc = crate::results::read(&path).unwrap();
        let mut b = doc.comparison.as_ref().unwrap().baseline_benchmarks[0].clone();
        let mut c = doc.benchmarks.iter().find(|x| x.id == b.id).unwrap().clone();
        b.facts.profile = Some(base);
        c.facts.profile = Some(cand);
        (b, c)
    }

    use FunctionGroup::*;

    #[test]
    fn the_function_that_grew_leads_and_noise_added_and_folded_functions_are_told_apart() {
        // 1 000 000 instructions: the noise (±0.5%) is 5 000.
        let base = profile(
            vec![
                function("app::work", "app", Program, 900_000),
                function("app::parse", "app", Program, 60_000),
                function("memcpy", "libc.so.6", Libraries, 30_000),
                function("app::gone", "app", Program, 9_000),
                function("tiny", "app", Program, 1_000),
            ],
            500,
        );
        let cand = profile(
            vec![
                function("app::work", "app", Program, 903_000),
                function("app::parse", "app", Program, 90_000),
                function("memcpy", "libc.so.6", Libraries, 30_100),
                function("app::new", "app", Program, 7_000),
                function("was_folded", "app", Program, 400),
                function("tiny", "app", Program, 1_000),
            ],
            500,
        );
        let (b, c) = sides(base, cand);
        let d = diff(&b, &c).unwrap();
        assert_eq!(d.noise, 5_000);
        let listed: Vec<(&str, i64, String)> =
            d.functions.iter().map(|f| (f.name.as_str(), f.delta, f.percent_text())).collect();
        assert_eq!(
            listed,
            [
                ("app::parse", 30_000, "+50.0%".to_string()),
                ("app::gone", -9_000, "removed".to_string()),
                ("app::new", 7_000, "added".to_string()),
            ]
        );
        assert_eq!(d.functions[0].mover(), "+30 000 instructions in app::parse [app] (+50.0%)");
        assert_eq!(d.functions[0].sides_text(), "60 000 → 90 000");
        let objects: Vec<String> = d.objects.iter().map(TotalChange::text).collect();
        assert_eq!(objects, ["app +31 400 (+3.2%)"], "31 400 of 970 000");
        assert!(d.crates.is_empty() && d.loader.is_none());

        // The same profile on both sides: nothing is listed.
        let same = profile(vec![function("app::work", "app", Program, 1_000_000)], 500);
        let (b, c) = sides(same.clone(), same);
        let d = diff(&b, &c).unwrap();
        assert!(d.functions.is_empty() && d.objects.is_empty() && d.groups.is_empty());
    }

    #[test]
    fn loader_growth_points_at_the_relocation_facts() {
        let base = profile(
            vec![
                function("app::main", "app", Program, 200_000),
                function("do_lookup_x", "ld-linux-x86-64.so.2", SymbolLookup, 40_000),
                function("_dl_relocate_object", "ld-linux-x86-64.so.2", Relocation, 30_000),
            ],
            100,
        );
        let cand = profile(
            vec![
                function("app::main", "app", Program, 200_000),
                function("do_lookup_x", "ld-linux-x86-64.so.2", SymbolLookup, 90_000),
                function("_dl_relocate_object", "ld-linux-x86-64.so.2", Relocation, 45_000),
                function("_dl_map_object", "ld-linux-x86-64.so.2", Loading, 8_000),
            ],
            100,
        );
        let (mut b, mut c) = sides(base, cand);
        b.facts.relocations = Some(Relocations { relative: 500, symbolic: 60, plt: 2 });
        c.facts.relocations = Some(Relocations { relative: 500, symbolic: 360, plt: 2 });
        b.facts.loader = Some(LoaderStats { relocations: 700, ..LoaderStats::default() });
        c.facts.loader = Some(LoaderStats { relocations: 1_300, ..LoaderStats::default() });
        b.facts.needed = Some(vec!["libc.so.6".into()]);
        c.facts.needed = Some(vec!["libmany.so".into(), "libc.so.6".into()]);
        let d = diff(&b, &c).unwrap();
        let names: Vec<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["do_lookup_x", "_dl_relocate_object", "_dl_map_object"]);
        assert_eq!(
            d.loader.as_deref(),
            Some(
                "the loader's relocation and symbol lookup grew by +65 000 instructions: relocations in the file \
                 562 → 862 (relative 500 → 500, symbolic 60 → 360, PLT 2 → 2); relocations the loader processed \
                 700 → 1 300 (LD_DEBUG=statistics); new DT_NEEDED: libmany.so"
            )
        );
        let groups: Vec<String> = d.groups.iter().map(TotalChange::text).collect();
        assert_eq!(
            groups,
            [
                "loader: symbol lookup +50 000 (+125.0%)",
                "loader: relocation +15 000 (+50.0%)",
                "loader: other +8 000 (added)"
            ]
        );
    }

    #[test]
    fn a_row_lists_its_top_functions_and_the_share_of_each_group() {
        let mut p = profile(
            vec![
                function("app::main", "app", Program, 600),
                function("do_lookup_x", "ld-linux-x86-64.so.2", SymbolLookup, 300),
                function("_dl_relocate_object", "ld-linux-x86-64.so.2", Relocation, 100),
            ],
            1,
        );
        p.top = 2;
        p.functions[0].krate = Some("app".into());
        let v = view(&p);
        assert_eq!(
            v.summary,
            "1 000 instructions (median callgrind run): loader 40.0% (relocation 10.0%, symbol lookup 30.0%, other \
             0.0%) · program 60.0%"
        );
        let lines: Vec<String> = v.functions.iter().map(|f| f.text(3)).collect();
        assert_eq!(
            lines,
            [
                "600  60.0%  app::main (app, crate app) · program",
                "300  30.0%  do_lookup_x (ld-linux-x86-64.so.2) · loader: symbol lookup",
            ]
        );
    }
}
