#!/usr/bin/env bash
# How often a comparison flags a ~3% slower start, and how often identical code raises a false
# alarm, with --precision and with --measure instructions (BENCHMARKS.md).
#
# Usage: benches/precision_compares.sh [COMPARES] [ITERATIONS] [EXTRA_PERCENT] [SHAPE]
# Builds cargo-coldbench (release) and a one-binary project whose start spins ITERATIONS times
# (default 8 000 000: about 10 ms here). Commit A is that; the working tree does EXTRA_PERCENT
# (default 4) more iterations. Then, COMPARES times each (default 20):
#   1. `--compare A --precision 1% --noise 1%` with the slower working tree;
#   2. the same with the working tree reset to A (A/A);
#   3. `--compare A --measure instructions --runs 10 --noise 1%`, slower;
#   4. the same, A/A.
# With SHAPE `bimodal` the start has two modes instead: each start spins ITERATIONS times or not
# at all, about half each (a random bit of the clock), and only the A/A compares (2) run: what
# identical code whose start has two modes reads as.
# It prints the verdicts of the gating rows (wall, instructions), the wall ratio each compare
# measured, the runs per side, whether the precision was reached, and the time each compare took.
# More arguments for every compare: COLDBENCH_ARGS (e.g. "--max-time 60s"); KINDS the compares
# of a one-mode start to run (default "precision instructions").
set -euo pipefail
compares=${1:-20}
iterations=${2:-8000000}
extra=${3:-4}
shape=${4:-unimodal}
kinds=${KINDS:-precision instructions}
read -r -a more <<< "${COLDBENCH_ARGS:-}"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"

p="$work/p"
mkdir -p "$p/src"
printf '[package]\nname = "work"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n\n[profile.release]\nopt-level = 3\n' > "$p/Cargo.toml"
printf '/target\n' > "$p/.gitignore"
main() {
  if [[ $shape == bimodal ]]; then
    cat > "$p/src/main.rs" <<RS
fn main() {
    // Half the starts spin, half do not: two modes.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let spins = if (nanos >> 10) & 1 == 1 { ${1}u64 } else { 0 };
    let mut x: u64 = 1;
    for i in 0..spins {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    if x == 42 {
        println!("unlikely");
    }
}
RS
    return
  fi
  cat > "$p/src/main.rs" <<RS
fn main() {
    let mut x: u64 = 1;
    for i in 0..${1}u64 {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    if x == 42 {
        println!("unlikely");
    }
}
RS
}
main "$iterations"
git -C "$p" init -q -b main
git -C "$p" add -A
git -C "$p" -c user.name=bench -c user.email=bench@example.invalid commit -q -m A
slower=$((iterations + iterations * extra / 100))

one() { # label, iterations of the working tree, coldbench arguments...
  local label=$1 n=$2; shift 2
  main "$n"
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$p" && "$coldbench" coldbench --compare HEAD --format json "$@" "${more[@]}" > "$work/out.json" 2>/dev/null) || true
  t1=$(date +%s.%N)
  python3 - "$work/out.json" "$label" "$t0" "$t1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {r["metric"]: r for r in doc["comparison"]["rows"] if r["gating"]}
wall = rows.get("wall", {})
ins = rows.get("instructions", {})
prec = doc["benchmarks"][0]["facts"].get("precision", {})
modes = doc["benchmarks"][0]["facts"].get("modes")
modes = "/".join(f'{m["at"]*1e3:.2f}ms:{m["share"]:.0%}' for m in modes["modes"]) if modes else "one-mode"
print(sys.argv[2], wall.get("verdict"), round(wall.get("ratio") or 0, 4), ins.get("verdict"),
      round(ins.get("ratio") or 0, 4), prec.get("runs"), prec.get("reached"),
      round(float(sys.argv[4]) - float(sys.argv[3]), 1), modes, flush=True)
PY
}

# Warm the build cache of both sides once.
one warm "$slower" --runs 3 > /dev/null
for i in $(seq 1 "$compares"); do
  if [[ $shape == bimodal ]]; then
    one same-precision "$iterations" --precision 1% --noise 1%
  else
    if [[ " $kinds " == *" precision "* ]]; then
      one slower-precision "$slower" --precision 1% --noise 1%
      one same-precision "$iterations" --precision 1% --noise 1%
    fi
    if [[ " $kinds " == *" instructions "* ]]; then
      one slower-instructions "$slower" --measure instructions --runs 10 --noise 1%
      one same-instructions "$iterations" --measure instructions --runs 10 --noise 1%
    fi
  fi
done | tee "$work/all.txt"

python3 - "$work/all.txt" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
flag = {"regressed", "warning", "failure"}
alarm = flag | {"improved"}
for label, col, what in [("slower-precision", 1, flag), ("same-precision", 1, alarm),
                         ("slower-instructions", 3, flag), ("same-instructions", 3, alarm)]:
    sel = [r for r in rows if r[0] == label]
    if not sel:
        continue
    hits = sum(r[col] in what for r in sel)
    ratios = [float(r[col + 1]) for r in sel]
    times = [float(r[7]) for r in sel]
    runs = [r[5] for r in sel]
    reached = sum(r[6] == "True" for r in sel)
    print(f"| {label} | {hits} of {len(sel)} | median ratio {statistics.median(ratios):.4f} | "
          f"runs per side {sorted(set(runs))}, precision reached {reached} of {len(sel)} | "
          f"median {statistics.median(times):.1f} s, max {max(times):.1f} s |")
PY
