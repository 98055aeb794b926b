#!/usr/bin/env bash
# `--compare` on a large real binary: cargo-coldbench itself (release, ~10 MB), in a fresh clone.
#
#   1. cost: the user's own `cargo build --release`, then a first and a second
#      `cargo coldbench --compare HEAD --runs 10`, each timed, with the disk used by
#      target/release and target/coldbench after each;
#   2. A/A: N more `--compare HEAD` with default settings on the unchanged tree; a false alarm is
#      a gating verdict of regressed, warning or failure. Prints each compare's ratio of medians.
#
# usage: benches/compare_aa_large.sh [N] [COLDBENCH]   (default 20, this checkout's release build)
#        COLDBENCH may be another build of cargo-coldbench, to measure an older version.
set -euo pipefail
n=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n ${2:-} ]]; then
  coldbench=$(realpath "$2")
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  coldbench="$root/target/release/cargo-coldbench"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/repo"
cd "$work/repo"

secs() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.0f}")' "$1"; }
disk() { du -sh "$1" 2>/dev/null | cut -f1; }

t=$(date +%s.%N); cargo build --release --quiet; echo "user's cargo build --release: $(secs "$t") s, target/release $(disk target/release)"
for which in first second; do
  t=$(date +%s.%N)
  "$coldbench" coldbench --compare HEAD --runs 10 -q > /dev/null
  echo "$which compare: $(secs "$t") s; target/release $(disk target/release), target/coldbench $(disk target/coldbench)"
done

verdict() {
  python3 - target/coldbench/latest.json <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = [r for r in doc["comparison"]["rows"] if r["gating"]]
wall = [r for r in rows if r["metric"] == "wall"][0]
alarm = any(r["verdict"] in ("regressed", "warning", "failure") for r in rows)
n = len(doc["benchmarks"][0]["samples"]["wall"])
print(f'{wall["verdict"]:13} ratio {wall["ratio"]:.4f} CI [{wall["ci95"][0]:.4f}, {wall["ci95"][1]:.4f}] n {n} alarm={int(alarm)}')
PY
}
alarms=0
for i in $(seq 1 "$n"); do
  "$coldbench" coldbench --compare HEAD -q > /dev/null
  line=$(verdict)
  echo "A/A $i: $line"
  [[ $line == *alarm=1 ]] && alarms=$((alarms + 1))
done
echo "false alarms in $n A/A compares: $alarms"
