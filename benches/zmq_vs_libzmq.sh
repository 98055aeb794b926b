#!/usr/bin/env bash
# The ZeroMQ suite's floor against libzmq's own perf tools, on the same machine and the same
# (system) libzmq, alternated round by round:
#
#   latency:    coldbench's built-in REQ/REP over tcp, 64 B — the mean round trip of its
#               `throughput[pattern=req-rep,payload=64 B]` row is 1 / throughput — against
#               local_lat/remote_lat (which print half the mean round trip).
#   throughput: coldbench's `throughput[pattern=push-pull,payload=64 B]` row (messages counted by
#               the server) against local_thr/remote_thr (counted by the receiver).
#
# The perf tools are compiled from the zeromq-src crate's vendor/perf/ with g++ against Debian's
# libzmq3-dev; cargo-coldbench is built against the same library with
#   --config 'target.x86_64-unknown-linux-gnu.zmq.rustc-link-lib=["zmq"]'
#
# usage: benches/zmq_vs_libzmq.sh [ROUNDS]   (default 10)
set -euo pipefail
rounds=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
perf=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/zeromq-src-*/vendor/perf | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in local_lat remote_lat local_thr remote_thr; do
  sed 's|#include "../include/zmq.h"|#include <zmq.h>|' "$perf/$tool.cpp" > "$work/$tool.cpp"
  g++ -O2 -o "$work/$tool" "$work/$tool.cpp" -lzmq
done
CARGO_TARGET_DIR="$root/target/system-libzmq" cargo build --release --quiet --manifest-path "$root/Cargo.toml" \
  --config 'target.x86_64-unknown-linux-gnu.zmq.rustc-link-lib=["zmq"]'
coldbench="$root/target/system-libzmq/release/cargo-coldbench"
ldd "$coldbench" | grep -q 'libzmq.so' || { echo "coldbench is not linked to the system libzmq" >&2; exit 1; }

mkdir -p "$work/proj/src"
cat > "$work/proj/Cargo.toml" <<'EOF'
[package]
name = "zmqfloor"
version = "0.1.0"
edition = "2021"

[workspace]

[package.metadata.bench.zmq]
payload-sizes = [64]
clients = []
transports = ["tcp"]
round = "1s"
iterations = 3
EOF
echo 'fn main() {}' > "$work/proj/src/lib.rs"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lat_count=20000
thr_count=5000000
printf "%5s %14s %14s %14s %14s\n" round "cb half-RTT" "zmq half-RTT" "cb msg/s" "zmq msg/s"
for r in $(seq 1 "$rounds"); do
  (cd "$work/proj" && "$coldbench" coldbench suite zmq --scenario throughput -q --format json > "$work/cb.json")
  read -r cb_lat cb_thr < <(python3 - "$work/cb.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
row = {b["params"]["pattern"]: b for b in doc["benchmarks"] if b["params"].get("payload") == 64}
req = row["req-rep"]["summary"]["throughput"]["mean"]
push = row["push-pull"]["summary"]["throughput"]["mean"]
print(f"{1e6 / req / 2:.3f} {push:.0f}")
PY
)
  p=$(port); "$work/local_lat" "tcp://127.0.0.1:$p" 64 "$lat_count" > /dev/null & srv=$!
  sleep 0.2
  zmq_lat=$("$work/remote_lat" "tcp://127.0.0.1:$p" 64 "$lat_count" | awk '/average latency/ {print $3}')
  wait "$srv"
  p=$(port); "$work/local_thr" "tcp://127.0.0.1:$p" 64 "$thr_count" > "$work/thr.txt" & srv=$!
  sleep 0.2
  "$work/remote_thr" "tcp://127.0.0.1:$p" 64 "$thr_count"
  wait "$srv"
  zmq_thr=$(awk '/msg\/s/ {print $3}' "$work/thr.txt")
  printf "%5s %11s us %11s us %14s %14s\n" "$r" "$cb_lat" "$zmq_lat" "$cb_thr" "$zmq_thr"
  echo "$cb_lat $zmq_lat $cb_thr $zmq_thr" >> "$work/all.txt"
done
python3 - "$work/all.txt" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = lambda i: statistics.median(r[i] for r in rows)
print(f"median half round trip: coldbench {med(0):.2f} us, libzmq {med(1):.2f} us, ratio {med(0) / med(1):.3f}")
print(f"median throughput: coldbench {med(2):.0f} msg/s, libzmq {med(3):.0f} msg/s, ratio {med(2) / med(3):.3f}")
PY
