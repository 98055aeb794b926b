#!/usr/bin/env bash
# The tensor suite's round trips against one memcpy of the same size (BENCHMARKS.md).
#
# Usage: benches/tensor_vs_memcpy.sh [ROUNDS]
# Builds cargo-coldbench (release) and a C memcpy timer, then for ROUNDS rounds (default 5)
# alternates `cargo coldbench suite tensor --scenario transfer` on u8 tensors of 64 MiB, 256 MiB
# and 1 GiB with the memcpy timer, and prints per size the median over rounds of: copy and shared
# round trips, one memcpy, copy/memcpy and copy/shared.
set -euo pipefail
rounds=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"

# One memcpy between two buffers that are already faulted in: the physical floor of a copy.
cat > "$work/memcpy.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
    size_t n = strtoull(argv[1], 0, 10); int reps = atoi(argv[2]);
    char *a = malloc(n), *b = malloc(n); memset(a, 1, n); memset(b, 2, n);
    double *t = malloc(sizeof(double) * reps);
    for (int i = 0; i < reps; i++) { double s = now(); memcpy(b, a, n); t[i] = now() - s; a[i % n] ^= b[(i * 7919) % n]; }
    qsort(t, reps, sizeof(double), cmp);
    printf("%.9f\n", t[reps / 2]);
    return 0;
}
C
cc -O2 -o "$work/memcpy" "$work/memcpy.c"

cargo new --quiet --lib "$work/p"
cat >> "$work/p/Cargo.toml" <<'TOML'

[package.metadata.bench.tensor]
shapes = [[8192, 8192], [16384, 16384], [32768, 32768]]
dtype = "u8"
devices = ["cpu"]
TOML

sizes=(67108864 268435456 1073741824)
for r in $(seq 1 "$rounds"); do
  "$coldbench" coldbench --manifest-path "$work/p/Cargo.toml" suite tensor --scenario transfer \
    --format json --output-dir "$work/out" > "$work/run$r.json" 2>/dev/null
  for s in "${sizes[@]}"; do
    echo "$r $s $("$work/memcpy" "$s" 21)" >> "$work/memcpy.txt"
  done
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
rt = {}
for r in range(1, rounds + 1):
    doc = json.load(open(f"{work}/run{r}.json"))
    for b in doc["benchmarks"]:
        key = (int(b["params"]["size"]), b["params"]["mode"])
        rt.setdefault(key, []).append(b["summary"]["round_trip"]["mean"])
mc = {}
for line in open(f"{work}/memcpy.txt"):
    _, s, t = line.split()
    mc.setdefault(int(s), []).append(float(t))
med = statistics.median
print("| size | copy round trip | shared round trip | one memcpy | copy / memcpy | copy / shared |")
print("|---|---|---|---|---|---|")
for s in sorted(mc):
    c, sh, m = med(rt[(s, "copy")]), med(rt[(s, "shared")]), med(mc[s])
    print(f"| {s >> 20} MiB | {c * 1e3:.2f} ms | {sh * 1e3:.3f} ms | {m * 1e3:.2f} ms | {c / m:.2f} | {c / sh:.1f} |")
PY
