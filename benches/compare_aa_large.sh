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
# Environment:
#   COLDBENCH_ARGS  more arguments for the A/A compares (e.g. "--precision 1% --noise 1% --max-time 60s")
#   REPO            a clone made and measured by an earlier run (kept, step 1 skipped): build and
#                   cache once, then time the A/A compares alone (on a quiet machine)
set -euo pipefail
n=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n ${2:-} ]]; then
  coldbench=$(realpath "$2")
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  coldbench="$root/target/release/cargo-coldbench"
fi
read -r -a extra <<< "${COLDBENCH_ARGS:-}"

secs() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.0f}")' "$1"; }
disk() { du -sh "$1" 2>/dev/null | cut -f1; }

if [[ -n ${REPO:-} && -d $REPO/target/coldbench ]]; then
  cd "$REPO"
else
  if [[ -z ${REPO:-} ]]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    REPO=$work/repo
  fi
  git clone -q "$root" "$REPO"
  cd "$REPO"
  t=$(date +%s.%N); cargo build --release --quiet; echo "user's cargo build --release: $(secs "$t") s, target/release $(disk target/release)"
  for which in first second; do
    t=$(date +%s.%N)
    "$coldbench" coldbench --compare HEAD --runs 10 -q > /dev/null
    echo "$which compare: $(secs "$t") s; target/release $(disk target/release), target/coldbench $(disk target/coldbench)"
  done
fi

verdict() {
  python3 - target/coldbench/latest.json <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = [r for r in doc["comparison"]["rows"] if r["gating"]]
wall = [r for r in rows if r["metric"] == "wall"][0]
alarm = any(r["verdict"] in ("regressed", "warning", "failure") for r in rows)
n = len(doc["benchmarks"][0]["samples"]["wall"])
modes = doc["benchmarks"][0]["facts"].get("modes")
modes = " modes " + "/".join(f'{m["at"]*1e3:.2f}ms:{m["share"]:.0%}' for m in modes["modes"]) if modes else ""
prec = doc["benchmarks"][0]["facts"].get("precision")
prec = f' precision ±{prec.get("half_width", 0)*100:.2f}% reached={prec["reached"]}' if prec else ""
print(f'{wall["verdict"]:13} ratio {wall["ratio"]:.4f} CI [{wall["ci95"][0]:.4f}, {wall["ci95"][1]:.4f}] '
      f'n {n}{prec}{modes} alarm={int(alarm)}')
PY
}
alarms=0
for i in $(seq 1 "$n"); do
  "$coldbench" coldbench --compare HEAD -q "${extra[@]}" > /dev/null
  line=$(verdict)
  echo "A/A $i: $line"
  [[ $line == *alarm=1 ]] && alarms=$((alarms + 1))
done
echo "false alarms in $n A/A compares: $alarms"
