#!/usr/bin/env bash
# What each step of coldbench's runner costs against the bare clone loop, and how much of the rest
# is the main process between runs: every variant of benches/floor_steps.c, the runner fed its
# requests from a file (no main process; one request per run, or one `runs` request for all of
# them), and cargo-coldbench itself, on fresh copies of the
# fixture's hello, alternated round by round. Per variant: the median of its round medians, its
# difference to the plain clone loop, and per run the CPU idle entries (halts) and rescheduling /
# function-call IPIs seen during its rounds (coldbench's include its own set-up).
# usage: benches/floor_steps.sh [ROUNDS] [RUNS]
set -euo pipefail
rounds=${1:-20}
runs=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
manifest="$root/tests/fixtures/ws/Cargo.toml"
target="$work/target"
cargo build --release --quiet --manifest-path "$manifest" -p apps --bin hello --target-dir "$target"
hello="$target/release/hello"
apps="$root/tests/fixtures/ws/apps"
cb="$root/target/release/cargo-coldbench"
# The runner binary beside it (`__coldbench-runner` without the sources' identity skips its check).
runner="$root/target/release/coldbench-runner"
gcc -O2 -Wall -o "$work/steps" "$root/benches/floor_steps.c"

fresh_copy() { # what coldbench's stage does: a new file, write(2) in 1 MiB pieces, fsync
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

counters() { # halts over all CPUs, then RES and CAL interrupts over all CPUs
  local halts=0 f
  for f in /sys/devices/system/cpu/cpu*/cpuidle/state*/usage; do halts=$((halts + $(<"$f"))); done
  awk -v h="$halts" '$1=="RES:"{for(i=2;i<=NF;i++) if($i~/^[0-9]+$/) r+=$i}
                     $1=="CAL:"{for(i=2;i<=NF;i++) if($i~/^[0-9]+$/) c+=$i}
                     END{print h, r+0, c+0}' /proc/interrupts
}

runner_alone() { # the runner with its requests in a file: no main process between runs; $2 = batch
  # asks for every run in one `runs` request instead of one `run` request each
  python3 - "$1" "$apps" "$runs" "$2" > "$work/req.txt" <<'PY'
import json, sys
spec = {"program": sys.argv[1], "args": ["--help"], "env": {}, "cwd": sys.argv[2],
        "readiness": {"kind": "exit"}, "timeout": {"secs": 5, "nanos": 0}}
print(json.dumps([spec]))
n = int(sys.argv[3]) + 10
if sys.argv[4] == "batch":
    print("runs " + " ".join(["0"] * n))
else:
    for _ in range(n):
        print("run 0")
PY
  "$runner" __coldbench-runner < "$work/req.txt" > "$work/rep.jsonl"
  python3 - "$work/rep.jsonl" <<'PY'
import json, statistics, sys
walls = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if isinstance(r, dict) and "Error" in r:
        sys.exit(r["Error"])
    records = []
    if isinstance(r, dict) and "Record" in r:
        records = [r["Record"]]
    if isinstance(r, dict) and "Batch" in r:
        records = r["Batch"]["records"]
    walls += [x["wall"]["secs"] + x["wall"]["nanos"] * 1e-9 for x in records]
print(statistics.median(walls[10:]))
PY
}

child_steps="--setpgid --chdir $apps --signals --memfd-stderr"
declare -A variant=(
  [clone]=""
  [pidfd-ppoll]="--pidfd"
  [waitid-nowait]="--waitid"
  [setpgid]="--setpgid"
  [signals]="--signals"
  [child-steps]="$child_steps"
  [runner-steps]="--pidfd $child_steps --leftovers --subreaper"
  [idle-gap-150us]="--idle-gap 150"
  [peer-50us-256KiB]="--peer 50 --peer-kib 256 --two-writes"
  [runner-steps+peer]="--pidfd $child_steps --leftovers --subreaper --peer 50 --peer-kib 256 --two-writes"
  [bloat-64MiB]="--bloat 64"
)
tools=("${!variant[@]}" runner-alone runner-batch coldbench)

measure() {
  local tool=$1 copy="$work/copy-$1"
  fresh_copy "$hello" "$copy"
  case $tool in
    runner-alone) runner_alone "$copy" single ;;
    runner-batch) runner_alone "$copy" batch ;;
    coldbench)
      "$cb" coldbench --manifest-path "$manifest" -p apps --bin hello --no-build --target-dir "$target" \
        --runs "$runs" --warmup 10 --output-dir "$work/cb" --format json -q > "$work/cb.json"
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["benchmarks"][0]["summary"]["wall"]["median"])' "$work/cb.json" ;;
    *) # shellcheck disable=SC2086  (the options are words)
      "$work/steps" ${variant[$tool]} "$runs" 10 "$copy" --help ;;
  esac
}

n=${#tools[@]}
for round in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((n - 1))); do
    tool=${tools[$(( (i + round) % n ))]}
    read -r h0 r0 c0 < <(counters)
    median=$(measure "$tool")
    read -r h1 r1 c1 < <(counters)
    echo "$tool $median $((h1 - h0)) $((r1 - r0)) $((c1 - c0))" >> "$work/all.txt"
  done
  echo "round $round of $rounds done" >&2
done

python3 - "$work/all.txt" "$runs" <<'PY'
import statistics, sys
per_run = int(sys.argv[2]) + 10
rows = {}
for line in open(sys.argv[1]):
    tool, median, h, r, c = line.split()
    rows.setdefault(tool, []).append((float(median), int(h), int(r), int(c)))
base = statistics.median(x[0] for x in rows["clone"])
print("| variant | median of round medians | − clone loop | halts/run | RES/run | CAL/run |")
print("|---|--:|--:|--:|--:|--:|")
for tool, v in sorted(rows.items(), key=lambda kv: statistics.median(x[0] for x in kv[1])):
    m = statistics.median(x[0] for x in v)
    per = lambda k: statistics.median(x[k] for x in v) / per_run
    print(f"| {tool} | {m*1e6:.1f} µs | {(m-base)*1e6:+.1f} µs | {per(1):.2f} | {per(2):.2f} | {per(3):.2f} |")
PY
