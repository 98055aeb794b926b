#!/usr/bin/env bash
# The RPC suite's small call over ipc against the bare ZeroMQ round trip on the same machine:
#
#   rpc: the mean `call` of `rpc/…/call[worker=builtin,transport=ipc,method=small_int,payload=8 B]`
#        (DEALER to DEALER, the protocol's CALL and REPLY frames, the reply checked);
#   zmq: 1 / throughput of `zmq/…/throughput[server=builtin,pattern=req-rep,transport=ipc,payload=8 B]`
#        (one REQ socket, one request at a time, the built-in echo server).
#
# Both from a release build of cargo-coldbench, alternated round by round.
# usage: benches/rpc_vs_zmq.sh [ROUNDS]   (default 10)
set -euo pipefail
rounds=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"
mkdir -p "$work/proj/src"
cat > "$work/proj/Cargo.toml" <<'TOML'
[package]
name = "rpcfloor"
version = "0.1.0"
edition = "2021"

[workspace]

[package.metadata.bench.zmq]
payload-sizes = [8]
clients = []
transports = ["ipc"]
round = "1s"
iterations = 3

[package.metadata.bench.rpc]
count = 20000
iterations = 3
TOML
echo 'fn main() {}' > "$work/proj/src/lib.rs"
printf "%5s %14s %14s %8s\n" round "rpc call" "zmq RTT" ratio
for r in $(seq 1 "$rounds"); do
  (cd "$work/proj" && "$coldbench" coldbench suite rpc --scenario calls -q --format json > "$work/rpc.json")
  (cd "$work/proj" && "$coldbench" coldbench suite zmq --scenario throughput -q --format json > "$work/zmq.json")
  python3 - "$work/rpc.json" "$work/zmq.json" "$work/all.txt" "$r" <<'PY'
import json, sys
rpc = json.load(open(sys.argv[1]))["benchmarks"]
zmq = json.load(open(sys.argv[2]))["benchmarks"]
call = next(b for b in rpc if b["params"].get("method") == "small_int")["summary"]["call"]["mean"]
req = next(b for b in zmq if b["params"].get("pattern") == "req-rep")["summary"]["throughput"]["mean"]
rtt = 1 / req
print(f"{sys.argv[4]:>5} {call * 1e6:11.3f} us {rtt * 1e6:11.3f} us {call / rtt:8.3f}")
open(sys.argv[3], "a").write(f"{call} {rtt}\n")
PY
done
python3 - "$work/all.txt" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
c = statistics.median(r[0] for r in rows); z = statistics.median(r[1] for r in rows)
print(f"median: rpc call {c * 1e6:.2f} us, zmq round trip {z * 1e6:.2f} us, ratio {c / z:.3f}")
PY
