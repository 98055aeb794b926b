#!/usr/bin/env bash
# Warm vs cold page cache: the median start of a binary of several MiB (a copy of
# cargo-coldbench's own release build, run with --help), measured with --cache warm and
# --cache cold in alternating rounds. A copy is used so that the runner process, which is the
# same program, does not keep the measured file's pages mapped.
#
# usage: benches/cache_warm_cold.sh [ROUNDS] [RUNS]
set -euo pipefail
rounds=${1:-5}
runs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"
cp "$coldbench" "$work/big"
mkdir -p "$work/proj/src"
cat > "$work/proj/Cargo.toml" <<TOML
[package]
name = "proj"
version = "0.1.0"
edition = "2021"

[workspace]

[[package.metadata.bench.start]]
command = ["$work/big", "--help"]
name = "big"
TOML
echo 'fn main() {}' > "$work/proj/src/main.rs"
echo "binary: $(stat -c %s "$work/big") bytes"

for round in $(seq 1 "$rounds"); do
  for mode in warm cold; do
    "$coldbench" coldbench --manifest-path "$work/proj/Cargo.toml" --cache "$mode" --runs "$runs" \
      --output-dir "$work/out-$mode" --format json -q > "$work/$mode-$round.json"
  done
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
for mode in ("warm", "cold"):
    med, majors, resident = [], [], []
    for r in range(1, rounds + 1):
        b = json.load(open(f"{work}/{mode}-{r}.json"))["benchmarks"][0]
        med.append(b["summary"]["wall"]["median"])
        majors.append(b["summary"]["major_faults"]["median"])
        for x in b["facts"].get("residency") or []:
            if x["file"].endswith("/big"):
                resident.append(x["resident"])
    extra = f", executable resident after eviction {max(resident) * 100:.1f}% at most" if resident else ""
    print(f"{mode}: median of round medians {statistics.median(med) * 1e3:.3f} ms "
          f"(rounds {', '.join(f'{m * 1e3:.2f}' for m in med)}), median major faults {statistics.median(majors):.0f}{extra}")
PY
