#!/usr/bin/env bash
# A/A spread with and without --pin (BENCHMARKS.md): how far apart identical code's sides land,
# and how much each side's runs spread, when the runner and the measured program are left to the
# scheduler, both pinned to one CPU, and each pinned to its own.
#
# usage: benches/pin_spread.sh [COMPARES] [RUNS] [PINS...]
#   COMPARES A/A compares per setting (default 10), RUNS per side each (default 300), PINS the
#   --pin values to try besides none (default: 1 and 0,1). The settings alternate compare by
#   compare. Needs a release build of cargo-coldbench (built here).
set -euo pipefail
compares=${1:-10}
runs=${2:-300}
shift $(( $# >= 2 ? 2 : $# ))
pins=("$@")
[[ ${#pins[@]} -eq 0 ]] && pins=(1 0,1)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"

p="$work/p"
mkdir -p "$p/src"
printf '[package]\nname = "work"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n' > "$p/Cargo.toml"
printf '/target\n' > "$p/.gitignore"
printf 'fn main() {\n    println!("hello");\n}\n' > "$p/src/main.rs"
git -C "$p" init -q -b main
git -C "$p" add -A
git -C "$p" -c user.name=bench -c user.email=bench@example.invalid commit -q -m A
(cd "$p" && "$coldbench" coldbench --compare HEAD --runs 3 -q > /dev/null)

for i in $(seq 1 "$compares"); do
  for pin in none "${pins[@]}"; do
    args=(--compare HEAD --runs "$runs" --format json)
    [[ $pin != none ]] && args+=(--pin "$pin")
    (cd "$p" && "$coldbench" coldbench "${args[@]}" 2>/dev/null > "$work/out.json") || true
    python3 - "$work/out.json" "$pin" <<'PY' | tee -a "$work/all.txt"
import json, sys
doc = json.load(open(sys.argv[1]))
wall = [r for r in doc["comparison"]["rows"] if r["metric"] == "wall"][0]
cand = doc["benchmarks"][0]["summary"]["wall"]
print(sys.argv[2], f'{wall["ratio"]:.5f}', f'{cand["stddev"] / cand["mean"]:.4f}', f'{cand["median"]:.7f}', wall["verdict"])
PY
  done
done

python3 - "$work/all.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print("\n| --pin | A/A ratios: sd | range | median CV of a side's runs | median of medians | verdicts |")
print("|---|--:|--:|--:|--:|---|")
for pin in dict.fromkeys(r[0] for r in rows):
    sel = [r for r in rows if r[0] == pin]
    ratios = [float(r[1]) for r in sel]
    cv = statistics.median(float(r[2]) for r in sel)
    med = statistics.median(float(r[3]) for r in sel)
    verdicts = {v: sum(r[4] == v for r in sel) for v in dict.fromkeys(r[4] for r in sel)}
    print(f"| {pin} | {statistics.pstdev(ratios)*100:.2f}% | {min(ratios):.4f}–{max(ratios):.4f} | {cv*100:.1f}% | "
          f"{med*1e6:.1f} µs | {', '.join(f'{k} {v}' for k, v in verdicts.items())} |")
PY
