#!/usr/bin/env bash
# `history` on identical code: how often it marks a step where there is none, and what a machine
# that slows down halfway through does to the series measured against the anchor and to the
# commits' own times.
#
#   1. false steps: a throwaway repository of 16 commits that change only a notes file, one
#      binary that spins 3 000 000 iterations (about 4.5 ms here, release build); `history --force` N times, each
#      commit measured against the first, interleaved (--runs 20, default noise 2%). A false step
#      is any step marked.
#   2. drift: the same range, all of it pinned to CPU 1 (`taskset -c 1`); when the 9th of the 16
#      commits is reached a CPU hog is started on CPU 1 too, and stopped at the end, so that the
#      second half runs on half a core. The ratio series (interleaved against the anchor) should
#      have no step; the commits' own medians (what measuring each commit alone at its moment
#      gives, as asv does) are searched for steps by the same method and should have one near
#      the 9th commit (reported as `drift`). D times.
#
# usage: benches/history_steps.sh [N] [D] [COLDBENCH]   (default 20 and 3, this checkout's release build)
set -euo pipefail
n=${1:-20}
d=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n ${3:-} ]]; then
  coldbench=$(realpath "$3")
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  coldbench="$root/target/release/cargo-coldbench"
fi
work=$(mktemp -d)
hog=
trap '[[ -n $hog ]] && kill "$hog" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
git init -q -b main
git config user.name bench
git config user.email bench@example.invalid
printf '[package]\nname = "spin"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n' > Cargo.toml
mkdir src
cat > src/main.rs <<'EOF'
fn main() {
    let mut x: u64 = 1;
    for i in 0..3_000_000u64 {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    if x == 42 {
        println!("unlikely");
    }
}
EOF
echo /target > .gitignore
cargo generate-lockfile --offline --quiet
for i in $(seq 1 16); do
  echo "note $i" > notes.txt
  git add -A
  git commit -q -m "$i: notes"
done

summary() {
  python3 - "$1" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
s = h["series"][0]
ratios = [p.get("ratio") for p in s["points"]]
own = [p.get("value") for p in s["points"]]
steps = [f'{st["index"] + 1}: {st["change"] * 100:+.1f}%' for st in s.get("steps", [])]
drift = [f'{st["index"] + 1}: {st["change"] * 100:+.1f}%' for st in s.get("drift", [])]
print(f'steps={len(s.get("steps", []))} {steps} drift={drift}')
print("  ratios  " + " ".join(f"{r:.3f}" for r in ratios))
print("  own ms  " + " ".join(f"{v * 1e3:.2f}" for v in own))
PY
}

echo "== false steps: $n histories of 16 identical commits"
with_steps=0
steps=0
for i in $(seq 1 "$n"); do
  "$coldbench" coldbench history --last 16 --force --runs 20 --format json -q > "h$i.json"
  line=$(summary "h$i.json")
  echo "history $i: $line"
  k=$(head -1 <<< "$line" | sed 's/^steps=\([0-9]*\).*/\1/')
  steps=$((steps + k))
  if [[ $k -gt 0 ]]; then with_steps=$((with_steps + 1)); fi
done
echo "histories with a step: $with_steps of $n; steps in all: $steps"

echo "== drift: a CPU hog on the measuring core from the 9th of 16 commits on, $d times"
for i in $(seq 1 "$d"); do
  taskset -c 1 "$coldbench" coldbench history --last 16 --force --runs 20 --format json > "d$i.json" 2> "d$i.err" &
  bench=$!
  until grep -q "Commit 9/16" "d$i.err" 2>/dev/null || ! kill -0 "$bench" 2>/dev/null; do sleep 0.05; done
  taskset -c 1 sh -c 'while :; do :; done' &
  hog=$!
  wait "$bench"
  kill "$hog"
  hog=
  echo "drift $i: $(summary "d$i.json")"
done
