#!/usr/bin/env bash
# The RPC suite's large calls over ipc against one memcpy of the same size (BENCHMARKS.md):
#
#   bytes:     the mean `call` of `rpc/…/call[worker=builtin,transport=ipc,method=bytes,payload=50 MiB]`
#   array_f64: the mean `call` of `rpc/…/call[worker=builtin,transport=ipc,method=array_f64,payload=8 MiB]`
#   memcpy:    a C timer of one memcpy of 50 MiB and of 8 MiB between buffers already faulted in
#              (-O2, the median of 21)
#
# and, where the build has it, the same calls through the Python worker (`cargo coldbench worker
# python`) over ipc and stdio. The suite and the timer alternate round by round.
#
# usage: benches/rpc_large_vs_memcpy.sh [ROUNDS] [COLDBENCH]
#   ROUNDS     default 5
#   COLDBENCH  a cargo-coldbench binary to measure (default: this checkout, built in release)
set -euo pipefail
rounds=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${2:-}" ]; then
  coldbench=$2
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  coldbench="$root/target/release/cargo-coldbench"
fi

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

mkdir -p "$work/p/src"
echo 'fn main() {}' > "$work/p/src/main.rs"
cat > "$work/p/Cargo.toml" <<'TOML'
[package]
name = "rpclarge"
version = "0.1.0"
edition = "2021"

[workspace]

[package.metadata.bench.rpc]
iterations = 3
TOML
transports='"ipc"'
if "$coldbench" coldbench worker python > "$work/p/coldbench_worker.py" 2>/dev/null; then
  transports='"ipc", "stdio"'
  echo 'worker = { command = ["python3", "coldbench_worker.py"], name = "python" }' >> "$work/p/Cargo.toml"
fi
echo "transport = [$transports]" >> "$work/p/Cargo.toml"

for r in $(seq 1 "$rounds"); do
  (cd "$work/p" && "$coldbench" coldbench suite rpc --scenario calls --no-build -q --format json \
    --output-dir "$work/out" > "$work/run$r.json") || true
  for s in 52428800 8388608; do
    echo "$s $("$work/memcpy" "$s" 21)" >> "$work/memcpy.txt"
  done
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
calls = {}
for r in range(1, rounds + 1):
    for b in json.load(open(f"{work}/run{r}.json"))["benchmarks"]:
        p = b["params"]
        if p.get("method") in ("bytes", "array_f64") and b["status"] == "ok":
            key = (p["worker"], p["transport"], p["method"])
            calls.setdefault(key, []).append((b["summary"]["call"]["mean"], b["summary"]["local"]["mean"]))
mc = {}
for line in open(f"{work}/memcpy.txt"):
    s, t = line.split()
    mc.setdefault(int(s), []).append(float(t))
med = statistics.median
size = {"bytes": 52428800, "array_f64": 8388608}
print("| worker | transport | call | payload | call | in the worker (local) | one memcpy | call / memcpy |")
print("|---|---|---|---|---|---|---|---|")
for (worker, transport, method), v in sorted(calls.items()):
    call, local, m = med(c for c, _ in v), med(l for _, l in v), med(mc[size[method]])
    print(f"| {worker} | {transport} | `{method}` | {size[method] >> 20} MiB | {call * 1e3:.2f} ms "
          f"| {local * 1e3:.2f} ms | {m * 1e3:.2f} ms | **{call / m:.2f}** |")
PY
