#!/usr/bin/env bash
# Where a suite row's noise comes from (see suite_noise.py): rounds of one server process against
# fresh processes, on the built-in servers of the ZeroMQ suite (throughput and latency, --quick
# sizes) in a throwaway workspace.
#
#   1. PLAIN runs of `suite zmq --quick --runs R`: each row against a fresh server process for R
#      rounds; the variance of a row's rounds within a run against the variance between runs.
#   2. AA compares `suite zmq --quick --runs R --compare HEAD` of identical code: the spread of
#      each row's ratio of sides against what the rounds predict, and the rows each one flags.
#
# usage: benches/suite_noise.sh [PLAIN] [AA] [R] [EXTRA-ARGS...]   (default 8 6 -)
# R is passed as --runs (rounds per server process); `-` leaves the default. The JSON results are
# kept in $KEEP (default: a temporary folder that is removed); $WRAP prefixes every command
# (`taskset -c 1`, say).
set -euo pipefail
plain=${1:-8}
aa=${2:-6}
rounds=${3:--}
shift $(($# < 3 ? $# : 3))
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
keep=${KEEP:-$work/keep}
mkdir -p "$keep"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"
mkdir -p "$work/proj/src"
cat > "$work/proj/Cargo.toml" <<'TOML'
[package]
name = "noise"
version = "0.1.0"
edition = "2021"

[workspace]

[package.metadata.bench.zmq]
TOML
echo '' > "$work/proj/src/lib.rs"
printf '/target\n' > "$work/proj/.gitignore"
(cd "$work/proj" && cargo generate-lockfile --offline --quiet && git init -q -b main && git add -A &&
  git -c user.name=bench -c user.email=bench@example.invalid commit -qm A)
runs=()
[ "$rounds" != "-" ] && runs=(--runs "$rounds")
run() { (cd "$work/proj" && ${WRAP:-} "$coldbench" coldbench suite zmq --scenario throughput --scenario latency \
  --quick "${runs[@]}" -q --format json "$@" > /dev/null) || true; }
for i in $(seq 1 "$plain"); do
  start=$(date +%s)
  run "$@"
  cp "$work/proj/target/coldbench/latest.json" "$keep/plain-$i.json"
  echo "plain run $i: $(($(date +%s) - start)) s" >&2
done
for i in $(seq 1 "$aa"); do
  start=$(date +%s)
  run --compare HEAD "$@"
  cp "$work/proj/target/coldbench/latest.json" "$keep/aa-$i.json"
  echo "A/A compare $i: $(($(date +%s) - start)) s" >&2
done
[ "$plain" -gt 0 ] && python3 "$root/benches/suite_noise.py" plain "$keep"/plain-*.json
if [ "$aa" -gt 0 ]; then
  python3 "$root/benches/suite_noise.py" aa "$keep"/aa-*.json
  python3 "$root/benches/suite_noise.py" flags "$keep"/aa-*.json
  python3 "$root/benches/suite_noise.py" blocks "$keep"/aa-*.json
fi
true
