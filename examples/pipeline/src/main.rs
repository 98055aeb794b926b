//! A small pipeline runtime: a source, N transform stages and a sink, over integers or text.
//! `python/pipeline.py` is the implementation it replaces; both print the same checksum.
//!
//! Usage: pipeline --stages N --items M --kind int|text

use std::time::Instant;

use coldbench::self_report::{report, Better, Unit};

/// One item flowing through the pipeline.
#[derive(Debug, Clone)]
enum Item {
    Int(u64),
    Text(String),
}

/// A transform stage.
type Stage = Box<dyn Fn(Item) -> Item>;

fn int_stage(k: usize) -> Stage {
    let k = k as u64;
    match k % 3 {
        0 => Box::new(move |i| map_int(i, |x| x.wrapping_mul(3).wrapping_add(k))),
        1 => Box::new(move |i| map_int(i, |x| x ^ (x >> 7) ^ k)),
        _ => Box::new(move |i| map_int(i, |x| x.rotate_left(5).wrapping_add(0x9e37_79b9))),
    }
}

fn text_stage(k: usize) -> Stage {
    match k % 5 {
        0 => Box::new(|i| map_text(i, |s| s.to_lowercase())),
        1 => Box::new(|i| map_text(i, |s| s.chars().rev().collect())),
        2 => Box::new(|i| map_text(i, |s| s.replace(['a', 'e', 'i', 'o', 'u'], "*"))),
        3 => Box::new(move |i| map_text(i, |s| format!("{k}:{s}"))),
        _ => Box::new(|i| map_text(i, |s| s.split_whitespace().collect::<Vec<_>>().join("_"))),
    }
}

fn map_int(item: Item, f: impl Fn(u64) -> u64) -> Item {
    match item {
        Item::Int(x) => Item::Int(f(x)),
        other => other,
    }
}

fn map_text(item: Item, f: impl Fn(&str) -> String) -> Item {
    match item {
        Item::Text(s) => Item::Text(f(&s)),
        other => other,
    }
}

/// FNV-1a over the items: the sink's checksum, the same in both implementations.
fn checksum(items: impl Iterator<Item = Item>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for item in items {
        match item {
            Item::Int(x) => eat(&x.to_le_bytes()),
            Item::Text(s) => eat(s.as_bytes()),
        }
    }
    h
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.into())
}

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let stages: usize = arg(&args, "--stages", "3").parse().expect("--stages N");
    let items: usize = arg(&args, "--items", "100").parse().expect("--items M");
    let text = arg(&args, "--kind", "int") == "text";
    let pipeline: Vec<Stage> = (0..stages).map(|k| if text { text_stage(k) } else { int_stage(k) }).collect();
    let source = (0..items).map(|i| {
        if text {
            Item::Text(format!("Item {i:05} The Quick Brown Fox Jumps"))
        } else {
            Item::Int(i as u64)
        }
    });
    report("init", started.elapsed().as_secs_f64(), Unit::Seconds, Better::Lower).expect("report init");

    let running = Instant::now();
    let sum = checksum(source.map(|item| pipeline.iter().fold(item, |item, stage| stage(item))));
    let seconds = running.elapsed().as_secs_f64();
    report("items_per_second", items as f64 / seconds, Unit::PerSecond, Better::Higher).expect("report rate");
    println!("{sum:016x}");
}
