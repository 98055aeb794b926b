#!/usr/bin/env bash
# Harness floor: the median start of a trivial binary as measured by cargo-coldbench, by
# `hyperfine -N` (no shell) and by the physical floor of a spawn-based timer — a bare C loop of
# posix_spawn + wait4 (benches/bare_spawn.c), and the same loop spawning with
# clone(CLONE_VM | CLONE_VFORK) — on the same machine. Every tool runs a fresh copy of the binary
# written the same way (write(2) in 1 MiB pieces, then fsync: what coldbench's own stage does), so
# that no tool starts from the linker's page-cache state. The tools alternate, in an order that
# rotates each round, so that drift hits them alike. Prints one line per round and, per tool, the
# median of its round medians and its ratio to the posix_spawn loop.
#
# usage: benches/harness_floor.sh [ROUNDS] [RUNS] [LABEL=COLDBENCH ...]
#   ROUNDS (default 20), RUNS per tool and round (default 300); each LABEL=COLDBENCH adds another
#   cargo-coldbench binary to the alternation (an older build, to measure what a change gave).
#   Needs hyperfine (apt-get install hyperfine) and gcc.
set -euo pipefail
rounds=${1:-20}
runs=${2:-300}
shift $(( $# >= 2 ? 2 : $# ))
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
manifest="$root/tests/fixtures/ws/Cargo.toml"
target="$work/target"
cargo build --release --quiet --manifest-path "$manifest" -p apps --bin hello --target-dir "$target"
hello="$target/release/hello"
gcc -O2 -Wall -o "$work/bare_spawn" "$root/benches/bare_spawn.c"

declare -A coldbench=([coldbench]="$root/target/release/cargo-coldbench")
for extra in "$@"; do
  coldbench[${extra%%=*}]=${extra#*=}
done

fresh_copy() { # what cargo-coldbench's stage does: a new file, write(2) in 1 MiB pieces, fsync
  python3 - "$1" "$2" <<'PY'
import os, sys
data = open(sys.argv[1], "rb").read()
try:
    os.unlink(sys.argv[2])
except FileNotFoundError:
    pass
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
for i in range(0, len(data), 1 << 20):
    os.write(fd, data[i:i + (1 << 20)])
os.fsync(fd)
os.close(fd)
PY
}

measure() { # tool, round: prints the median in seconds
  local tool=$1 round=$2 copy="$work/copy-$1"
  case $tool in
    posix_spawn-loop) fresh_copy "$hello" "$copy"; "$work/bare_spawn" "$runs" 10 "$copy" --help ;;
    clone-loop) fresh_copy "$hello" "$copy"; "$work/bare_spawn" --clone "$runs" 10 "$copy" --help ;;
    hyperfine)
      fresh_copy "$hello" "$copy"
      hyperfine -N --runs "$runs" --warmup 10 --style none --export-json "$work/hf.json" "$copy --help" > /dev/null 2>&1
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/hf.json" ;;
    *)
      # cargo-coldbench writes its own fresh copy of the binary into its stage folder.
      "${coldbench[$tool]}" coldbench --manifest-path "$manifest" -p apps --bin hello --no-build --target-dir "$target" \
        --runs "$runs" --warmup 10 --output-dir "$work/cb-$tool" --format json -q > "$work/cb.json"
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["benchmarks"][0]["summary"]["wall"]["median"])' "$work/cb.json" ;;
  esac
}

tools=(posix_spawn-loop clone-loop hyperfine "${!coldbench[@]}")
for round in $(seq 1 "$rounds"); do
  line="round $round:"
  n=${#tools[@]}
  for i in $(seq 0 $((n - 1))); do
    tool=${tools[$(( (i + round) % n ))]}
    median=$(measure "$tool" "$round")
    echo "$round $tool $median" >> "$work/all.txt"
    line+=" $tool $(python3 -c "print(f'{$median*1e6:.1f}')") µs"
  done
  echo "$line"
done

python3 - "$work/all.txt" <<'PY'
import statistics, sys
by_tool = {}
for line in open(sys.argv[1]):
    _, tool, median = line.split()
    by_tool.setdefault(tool, []).append(float(median))
floor = statistics.median(by_tool["posix_spawn-loop"])
hf = statistics.median(by_tool["hyperfine"])
print(f"\n| tool | median of {len(by_tool['posix_spawn-loop'])} round medians | × posix_spawn loop | × hyperfine -N |")
print("|---|--:|--:|--:|")
for tool, medians in by_tool.items():
    m = statistics.median(medians)
    print(f"| {tool} | {m*1e6:.1f} µs | {m/floor:.3f} | {m/hf:.3f} |")
PY
