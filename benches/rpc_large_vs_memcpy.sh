#!/usr/bin/env bash
# The RPC suite's large calls against one memcpy of the same size, and against the bare
# transport under them (BENCHMARKS.md):
#
#   call:    the mean `call` of `rpc/…/call[worker=W,transport=T,method=bytes,payload=50 MiB]`
#            and `…method=array_f64,payload=8 MiB]`; `local` is the method's own time
#   memcpy:  one memcpy of the same size between two buffers already faulted in (C, -O2)
#   through shared memory (docs/PROTOCOL.md), the floor is one memcpy (the host's copy into the
#   segment) and the method; over the connection alone (COLDBENCH_RPC_SHM="" in the worker's env):
#   floor:   the same bytes written by one process and read by another into a buffer already
#            faulted in, with a one-byte answer (C, -O2): over a Unix stream socketpair (under
#            ZeroMQ's ipc) and over a pipe widened to 1 MiB (stdio); the transport's own cost
#
# W is the built-in worker and, where the build has `cargo coldbench worker python`, the Python
# worker; T is ipc (and stdio for the Python worker's build). Each C timer gives the median of 21;
# the suite and the timers alternate round by round, and every figure is the median over rounds.
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

cat > "$work/floor.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
/* usage: floor memcpy|unix|pipe BYTES REPS; prints the median seconds */
int main(int argc, char **argv) {
    size_t n = strtoull(argv[2], 0, 10); int reps = atoi(argv[3]);
    char *a = malloc(n), *b = malloc(n); memset(a, 1, n); memset(b, 2, n);
    double *t = malloc(sizeof(double) * reps);
    if (!strcmp(argv[1], "memcpy")) {
        for (int i = 0; i < reps; i++) { double s = now(); memcpy(b, a, n); t[i] = now() - s; a[i % n] ^= b[(i * 7919) % n]; }
    } else {
        int rd, wr, ack_r, ack_w;
        if (!strcmp(argv[1], "unix")) {
            int sv[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
            wr = ack_r = sv[0]; rd = ack_w = sv[1];
        } else {
            int p[2], q[2]; pipe(p); pipe(q); fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
            wr = p[1]; rd = p[0]; ack_w = q[1]; ack_r = q[0];
        }
        if (fork() == 0) {
            for (int i = 0; i < reps; i++) {
                for (size_t got = 0; got < n;) { ssize_t k = read(rd, b + got, n - got); if (k <= 0) _exit(1); got += k; }
                char ok = 1; if (write(ack_w, &ok, 1) != 1) _exit(1);
            }
            _exit(0);
        }
        for (int i = 0; i < reps; i++) {
            double s = now();
            for (size_t put = 0; put < n;) { ssize_t k = write(wr, a + put, n - put); if (k <= 0) return 2; put += k; }
            char ok; if (read(ack_r, &ok, 1) != 1) return 2;
            t[i] = now() - s;
        }
        wait(0);
    }
    qsort(t, reps, sizeof(double), cmp);
    printf("%.9f\n", t[reps / 2]);
    return 0;
}
C
cc -O2 -o "$work/floor" "$work/floor.c"

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
if "$coldbench" coldbench worker python > "$work/p/coldbench_worker.py" 2>/dev/null; then
  cat >> "$work/p/Cargo.toml" <<'TOML'
worker = { command = ["python3", "coldbench_worker.py"], name = "python" }
transport = ["ipc", "stdio"]
TOML
fi

for r in $(seq 1 "$rounds"); do
  (cd "$work/p" && "$coldbench" coldbench suite rpc --scenario calls --no-build -q --format json \
    --output-dir "$work/out" > "$work/run$r.json") || true
  for s in 52428800 8388608; do
    for kind in memcpy unix pipe; do
      echo "$kind $s $("$work/floor" "$kind" "$s" 21)" >> "$work/floor.txt"
    done
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
floor = {}
for line in open(f"{work}/floor.txt"):
    kind, s, t = line.split()
    floor.setdefault((kind, int(s)), []).append(float(t))
med = statistics.median
size = {"bytes": 52428800, "array_f64": 8388608}
under = {"ipc": "unix", "tcp": "unix", "stdio": "pipe"}
ms = lambda t: f"{t * 1e3:.2f} ms"
print("| worker | transport | method | payload | call | local | one memcpy | bare transport | call / memcpy | call / (transport + local) | call / (memcpy + local) |")
print("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
for (worker, transport, method), v in sorted(calls.items()):
    n = size[method]
    call, local = med(c for c, _ in v), med(l for _, l in v)
    m, f = med(floor[("memcpy", n)]), med(floor[(under[transport], n)])
    print(f"| {worker} | {transport} | `{method}` | {n >> 20} MiB | {ms(call)} | {ms(local)} | {ms(m)} "
          f"| {ms(f)} ({under[transport]}) | **{call / m:.2f}** | {call / (f + local):.2f} | {call / (m + local):.2f} |")
PY
