#!/usr/bin/env bash
# Harness floor: the median start of a trivial binary as measured by cargo-coldbench and by
# `hyperfine -N` (no shell), on the same machine, alternating the two tools round by round so that
# drift hits both. Prints one line per round and the median of each tool's medians.
#
# usage: benches/harness_floor.sh [ROUNDS] [RUNS]      (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
rounds=${1:-10}
runs=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"
manifest="$root/tests/fixtures/ws/Cargo.toml"
target="$work/target"
cargo build --release --quiet --manifest-path "$manifest" -p apps --bin hello --target-dir "$target"
hello="$target/release/hello"

for round in $(seq 1 "$rounds"); do
  "$coldbench" coldbench --manifest-path "$manifest" -p apps --bin hello --no-build --target-dir "$target" \
    --runs "$runs" --warmup 10 --output-dir "$work/cb" --format json -q > "$work/cb-$round.json"
  hyperfine -N --runs "$runs" --warmup 10 --style none --export-json "$work/hf-$round.json" "$hello --help" > /dev/null 2>&1
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
cb, hf = [], []
for r in range(1, rounds + 1):
    c = json.load(open(f"{work}/cb-{r}.json"))["benchmarks"][0]["summary"]["wall"]["median"]
    h = json.load(open(f"{work}/hf-{r}.json"))["results"][0]["median"]
    cb.append(c); hf.append(h)
    print(f"round {r:2}: coldbench {c*1e6:8.1f} µs   hyperfine -N {h*1e6:8.1f} µs   ratio {c/h:.3f}")
mc, mh = statistics.median(cb), statistics.median(hf)
print(f"median of medians: coldbench {mc*1e6:.1f} µs, hyperfine -N {mh*1e6:.1f} µs, ratio {mc/mh:.3f}")
PY
