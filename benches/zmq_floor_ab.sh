#!/usr/bin/env bash
# The ZeroMQ suite's floor (the built-in echo server over loopback TCP, 64 B) measured by two
# builds of cargo-coldbench, alternated round by round: does a change to the client side cost the
# floor anything? Each round runs `suite zmq --scenario throughput` with each binary (order
# alternating) on the same scratch package as benches/zmq_vs_libzmq.sh, and keeps the mean of
# `throughput[pattern=req-rep,payload=64 B]` (as a half round trip, 1 / (2 x throughput)) and of
# `throughput[pattern=push-pull,payload=64 B]`.
#
# usage: benches/zmq_floor_ab.sh BEFORE_BINARY AFTER_BINARY [ROUNDS]   (default 10)
# Build both the same way (release, same libzmq) and copy them, so that both run fresh copies.
set -euo pipefail
before=$1 after=$2 rounds=${3:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$before" "$work/before"
cp "$after" "$work/after"

mkdir -p "$work/proj/src"
cat > "$work/proj/Cargo.toml" <<'TOML'
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
TOML
echo 'fn main() {}' > "$work/proj/src/lib.rs"

measure() { # binary -> "half-RTT-us push-msg/s"
  (cd "$work/proj" && "$1" coldbench suite zmq --scenario throughput -q --format json > "$work/out.json")
  python3 - "$work/out.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
row = {b["params"]["pattern"]: b for b in doc["benchmarks"] if b["params"].get("payload") == 64}
req = row["req-rep"]["summary"]["throughput"]["mean"]
push = row["push-pull"]["summary"]["throughput"]["mean"]
print(f"{1e6 / req / 2:.3f} {push:.0f}")
PY
}

printf "%5s %14s %14s %14s %14s\n" round "before half-RTT" "after half-RTT" "before msg/s" "after msg/s"
for r in $(seq 1 "$rounds"); do
  if (( r % 2 )); then
    read -r bl bt < <(measure "$work/before"); read -r al at < <(measure "$work/after")
  else
    read -r al at < <(measure "$work/after"); read -r bl bt < <(measure "$work/before")
  fi
  printf "%5s %12s us %12s us %14s %14s\n" "$r" "$bl" "$al" "$bt" "$at"
  echo "$bl $al $bt $at" >> "$work/all.txt"
done
python3 - "$work/all.txt" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = lambda i: statistics.median(r[i] for r in rows)
print(f"median half round trip: before {med(0):.2f} us, after {med(1):.2f} us, after/before {med(1) / med(0):.3f}")
print(f"median push-pull: before {med(2):.0f} msg/s, after {med(3):.0f} msg/s, after/before {med(3) / med(2):.3f}")
PY
