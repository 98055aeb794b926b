//! Icicle charts as inline SVG: a tree drawn from the top down, every node a box as wide as its
//! share of its parent — a Python import tree by cumulative time, and a start's call tree by
//! inclusive instructions (`--measure profile`), coloured by group, or in a comparison by how
//! much each call path changed against the baseline's.

use std::fmt::Write;

use crate::results::{CallNode, Profile};

/// A node to draw.
pub struct Block {
    /// Its label, cut to the room there is.
    pub label: String,
    /// Its tooltip.
    pub title: String,
    /// Its CSS classes after the chart's kind (`l2`, `program`, `up3`).
    pub class: String,
    /// Its size; children share their parent's width in proportion.
    pub value: f64,
    /// Nodes below it.
    pub children: Vec<Block>,
}

/// How a kind of icicle chart looks.
pub struct Shape {
    /// The chart's class (`chart imports`).
    pub chart: &'static str,
    /// Every box's class.
    pub node: &'static str,
    /// The height of a level, in pixels.
    pub row: f64,
    /// Levels drawn at most.
    pub levels: usize,
    /// The legend on a line of its own under the title (else after it).
    pub legend_below: bool,
}

const WIDTH: f64 = 640.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An icicle chart of `roots`, side by side across the top in proportion to `total` (across the
/// whole width when they make it up); `legend` follows the title.
pub fn icicle(shape: &Shape, title: &str, legend: &str, roots: &[Block], total: f64) -> String {
    fn depth(b: &Block) -> usize {
        1 + b.children.iter().map(depth).max().unwrap_or(0)
    }
    let (kind, row, max_levels) = (shape.chart, shape.row, shape.levels);
    let levels = roots.iter().map(depth).max().unwrap_or(0).min(max_levels);
    let (left, width) = (10.0, WIDTH - 20.0);
    let top = if shape.legend_below { 38.0 } else { 24.0 };
    let height = top + row * levels as f64 + 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart {kind}" role="img" aria-label="{t}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title),
    );
    if shape.legend_below {
        let _ = write!(
            svg,
            r#"<text class="label" x="{left}" y="14">{}</text><text class="legend" x="{left}" y="28">{}</text>"#,
            escape(title),
            escape(legend)
        );
    } else {
        let _ = write!(svg, r#"<text class="legend" x="{left}" y="14">{} {}</text>"#, escape(title), escape(legend));
    }
    struct Frame<'a> {
        svg: &'a mut String,
        kind: &'a str,
        top: f64,
        row: f64,
        max_levels: usize,
    }
    fn draw(f: &mut Frame, b: &Block, x: f64, w: f64, level: usize) {
        if level >= f.max_levels || w < 0.5 {
            return;
        }
        let y = f.top + f.row * level as f64;
        let _ = write!(
            f.svg,
            r#"<g class="{k}"><rect class="{k} {}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            b.class,
            (w - 1.0).max(0.5),
            f.row - 2.0,
            escape(&b.title),
            k = f.kind,
        );
        // About 6.5 px a character at the chart's font size.
        let room = ((w - 6.0) / 6.5) as usize;
        if room >= 4 {
            let label: String = if b.label.chars().count() <= room {
                b.label.clone()
            } else {
                b.label.chars().take(room.saturating_sub(1)).chain(['…']).collect()
            };
            let _ = write!(
                f.svg,
                r#"<text class="{}" x="{:.1}" y="{:.1}">{}</text>"#,
                f.kind,
                x + 3.0,
                y + f.row - 8.0,
                escape(&label)
            );
        }
        f.svg.push_str("</g>");
        let mut cx = x;
        for child in &b.children {
            let cw = if b.value > 0.0 { w * child.value / b.value } else { 0.0 };
            draw(f, child, cx, cw, level + 1);
            cx += cw;
        }
    }
    let mut frame = Frame { svg: &mut svg, kind: shape.node, top, row, max_levels };
    let mut x = left;
    for root in roots {
        let w = if total > 0.0 { width * root.value / total } else { 0.0 };
        draw(&mut frame, root, x, w, 0);
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

/// A call tree: boxes of class `call`, 40 levels at most.
const CALLS: Shape = Shape { chart: "calls", node: "call", row: 16.0, levels: 40, legend_below: true };

/// How a call path changed: `same` within `noise`, else up or down by one of three steps of its
/// relative size (below 10%, below 50%, beyond), or `new` where the baseline had no such path.
fn change_class(now: u64, before: Option<u64>, noise: u64) -> &'static str {
    let Some(before) = before else { return "new" };
    let delta = now as f64 - before as f64;
    if delta.abs() <= noise as f64 {
        return "same";
    }
    let relative = if before > 0 { delta.abs() / before as f64 } else { f64::INFINITY };
    match (delta > 0.0, relative) {
        (true, r) if r < 0.1 => "up1",
        (true, r) if r < 0.5 => "up2",
        (true, _) => "up3",
        (false, r) if r < 0.1 => "down1",
        (false, r) if r < 0.5 => "down2",
        (false, _) => "down3",
    }
}

/// The baseline's side of a call tree being compared.
#[derive(Clone, Copy)]
struct Against<'a> {
    /// The instruction noise.
    noise: u64,
    /// The baseline's calls where this node would be.
    siblings: &'a [CallNode],
}

/// A call tree's node as a box. Against the baseline, a node is matched by name and object among
/// the baseline's calls at the same place; a node the baseline has not there (a function put
/// between two others) is `new`, and its calls are matched one level up, so that a refactoring
/// marks the new function and not everything below it.
fn call_block(n: &CallNode, against: Option<Against>, total: u64) -> Block {
    let share = if total > 0 { n.instructions as f64 * 100.0 / total as f64 } else { 0.0 };
    let count = |v: u64| super::view::profile::grouped(v as i64, false);
    let mut title = format!(
        "{} [{}] · {} instructions ({share:.1}% of the start) · {}",
        n.name,
        n.object,
        count(n.instructions),
        n.group.label()
    );
    let base = against.and_then(|a| a.siblings.iter().find(|b| b.name == n.name && b.object == n.object));
    let class = match against {
        Some(a) => {
            match base {
                Some(b) => {
                    let delta = n.instructions as i64 - b.instructions as i64;
                    let _ = write!(
                        title,
                        " · baseline {} ({})",
                        count(b.instructions),
                        super::view::profile::grouped(delta, true)
                    );
                }
                None => title.push_str(" · not in the baseline's tree here"),
            }
            change_class(n.instructions, base.map(|b| b.instructions), a.noise).to_string()
        }
        None => n.group.key().to_string(),
    };
    let below = against.map(|a| Against { siblings: base.map_or(a.siblings, |b| &b.children[..]), ..a });
    let children = n.children.iter().map(|c| call_block(c, below, total)).collect();
    Block { label: n.name.clone(), title, class, value: n.instructions as f64, children }
}

/// A start's call tree as an icicle by inclusive instructions. Alone, boxes are coloured by
/// group; against `baseline` (with its instruction noise), each call path by how it changed —
/// matched by the functions along the path, as a differential flame graph does.
pub fn call_tree_chart(title: &str, profile: &Profile, baseline: Option<(&Profile, u64)>) -> String {
    if profile.tree.is_empty() {
        return String::new();
    }
    let roots: Vec<Block> = profile
        .tree
        .iter()
        .map(|n| call_block(n, baseline.map(|(b, noise)| Against { noise, siblings: &b.tree }), profile.total))
        .collect();
    let legend = match baseline {
        Some(_) => {
            "width: inclusive instructions · against the baseline: red grew, green shrank, grey within the noise, \
                    dark red new"
        }
        None => {
            "width: inclusive instructions · orange/yellow: loader, purple: start-up, blue: program, green: \
                 libraries"
        }
    };
    icicle(&CALLS, title, legend, &roots, profile.total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::FunctionGroup;

    fn node(name: &str, instructions: u64, children: Vec<CallNode>) -> CallNode {
        CallNode { name: name.into(), object: "app".into(), instructions, group: FunctionGroup::Program, children }
    }

    fn profile(tree: Vec<CallNode>, total: u64) -> Profile {
        Profile { total, tree, ..Profile::default() }
    }

    #[test]
    fn a_call_tree_is_as_wide_as_its_instructions_and_coloured_by_change() {
        let before =
            profile(vec![node("_start", 1000, vec![node("main", 800, vec![node("parse", 400, vec![])])])], 1000);
        let after = profile(
            vec![node(
                "_start",
                1300,
                vec![node("main", 1100, vec![node("parse", 700, vec![]), node("extra", 10, vec![])])],
            )],
            1300,
        );
        let alone = call_tree_chart("call tree of start/p/app", &after, None);
        assert_eq!(alone.matches("<rect class=\"call program\"").count(), 4, "{alone}");
        // main takes 1100/1300 of the 620 px below _start; parse 700/1100 of main's.
        assert!(alone.contains(r#"x="10.0" y="54.0" width="523.6""#), "{alone}");
        assert!(alone.contains(r#"x="10.0" y="70.0" width="332.8""#), "{alone}");
        let compared = call_tree_chart("call tree", &after, Some((&before, 50)));
        assert!(compared.contains("<rect class=\"call up2\""), "_start +30%: {compared}");
        assert!(compared.contains("<rect class=\"call up3\""), "parse +75%: {compared}");
        assert!(compared.contains("<rect class=\"call new\""), "extra: {compared}");
        assert!(
            compared.contains("parse [app] · 700 instructions (53.8% of the start) · program · baseline 400 (+300)")
        );
        let same = call_tree_chart("call tree", &before, Some((&before, 0)));
        assert_eq!(same.matches("<rect class=\"call same\"").count(), 3, "{same}");
        // A function put between main and parse is new; parse below it is still compared.
        let wrapped = profile(
            vec![node(
                "_start",
                1000,
                vec![node("main", 800, vec![node("run", 400, vec![node("parse", 400, vec![])])])],
            )],
            1000,
        );
        let compared = call_tree_chart("call tree", &wrapped, Some((&before, 0)));
        assert_eq!(compared.matches("<rect class=\"call same\"").count(), 3, "{compared}");
        assert_eq!(compared.matches("<rect class=\"call new\"").count(), 1, "{compared}");
        assert_eq!(call_tree_chart("empty", &Profile::default(), None), "");
    }
}
