#!/usr/bin/env bash
# What `--measure profile` adds to `--measure instructions`: the same run of a crate's starts
# (built once, `--no-build`), alternating the two options round by round so that drift hits both;
# prints each round's wall-clock time and result-file size, then the medians and the difference.
#
# usage: benches/profile_cost.sh CRATE_DIR [ROUNDS] [RUNS]      (needs valgrind)
set -euo pipefail
crate=$(cd "${1:?usage: benches/profile_cost.sh CRATE_DIR [ROUNDS] [RUNS]}" && pwd)
rounds=${2:-5}
runs=${3:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"
cargo build --release --quiet --manifest-path "$crate/Cargo.toml"

for round in $(seq 1 "$rounds"); do
  for what in instructions profile; do
    start=$(date +%s.%N)
    "$coldbench" coldbench --manifest-path "$crate/Cargo.toml" --no-build --measure "$what" --runs "$runs" \
      --output-dir "$work/$what" --format json -q > /dev/null
    end=$(date +%s.%N)
    echo "$round $what $start $end $(stat -c %s "$work/$what/latest.json")" >> "$work/times"
  done
done

python3 - "$work/times" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
took = {"instructions": [], "profile": []}
size = {}
for rnd, what, start, end, bytes_ in rows:
    took[what].append(float(end) - float(start))
    size[what] = int(bytes_)
    print(f"round {rnd}: --measure {what:12} {float(end) - float(start):6.2f} s, result file {int(bytes_) / 1024:6.1f} KiB")
a, b = statistics.median(took["instructions"]), statistics.median(took["profile"])
print(f"median: instructions {a:.2f} s, profile {b:.2f} s, profile adds {b - a:+.2f} s ({(b / a - 1) * 100:+.1f}%);"
      f" result file {size['instructions'] / 1024:.1f} KiB -> {size['profile'] / 1024:.1f} KiB")
PY
