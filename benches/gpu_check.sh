#!/usr/bin/env bash
# The tensor suite on a real GPU, from a copied release binary: no cargo and no CUDA toolkit on
# the GPU machine (an NVIDIA driver is enough). BENCHMARKS.md, "Tensor suite on a GPU".
#
# On the development machine:  cargo build --release --locked
# Copy target/release/cargo-coldbench and this script to the GPU machine, and there run
#
#   bash gpu_check.sh [BINARY] [OUTDIR]
#
# BINARY defaults to ./cargo-coldbench beside this script; OUTDIR to $OUT, else ./gpu-check.
# It writes into OUTDIR:
#   facts.txt    what the machine has: OS, glibc, driver, GPUs, what the binary links
#   env.json     `coldbench env`: the host facts as every result records them (GPUs from NVML)
#   memcpy.json  host <-> device copies alone (pageable and page-locked), the sizes of the rows
#   tensor.json  transfer rows on CUDA and the CPU (copy and shared, 10x10 to 3x8192x8192 f32) and
#                the memory rows (VRAM on CUDA, PSS on the CPU) with 1 and 5 workers holding 1 GiB
#   oom.json     a 256 GiB tensor on CUDA with the memory check off: it must fail alone
#   summary.txt  the figures, one line per row
#   log.txt      everything each step printed
# Every step has a time limit (all together, with the facts, under 9 minutes; about 3 are usual)
# and a failed step does not stop the next; the exit status is 0 when every step ran as expected.
set -u

script_dir=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$script_dir/cargo-coldbench}
out=${2:-${OUT:-$PWD/gpu-check}}
mkdir -p "$out" || { echo "error: cannot create $out" >&2; exit 2; }
out=$(cd "$out" && pwd)
log=$out/log.txt
: > "$log"
work=$(mktemp -d "${TMPDIR:-/tmp}/coldbench-gpu.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
failures=0

say() { echo "== $*" | tee -a "$log"; }

# step NAME SECONDS EXPECTED-STATUS OUTFILE COMMAND...: runs COMMAND with a time limit, stdout to
# OUTFILE (or the log), stderr to the log, and says how it ended.
step() {
  local name=$1 limit=$2 expected=$3 file=$4
  shift 4
  say "$name (at most ${limit}s): $*"
  local start=$SECONDS rc
  if [ "$file" = - ]; then
    timeout -k 10 "$limit" "$@" >> "$log" 2>&1 < /dev/null
  else
    timeout -k 10 "$limit" "$@" > "$file" 2>> "$log" < /dev/null
  fi
  rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    say "$name: TIMED OUT after $((SECONDS - start))s"
    failures=$((failures + 1))
  elif [ "$rc" -ne "$expected" ]; then
    say "$name: exit status $rc (expected $expected) after $((SECONDS - start))s; the log has its output"
    failures=$((failures + 1))
  else
    say "$name: done in $((SECONDS - start))s (exit status $rc)"
  fi
}

command -v timeout > /dev/null || { echo "error: this machine has no \`timeout\` (coreutils)" >&2; exit 2; }
if [ ! -f "$bin" ]; then
  echo "error: no binary at $bin; build it with \`cargo build --release\` and copy target/release/cargo-coldbench here" >&2
  exit 2
fi
# A fresh, executable copy: a copied file may have lost its mode.
cp "$bin" "$work/cargo-coldbench" && chmod +x "$work/cargo-coldbench" || exit 2
cb=$work/cargo-coldbench

# What the machine has, before anything runs.
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uname: $(uname -a)"
  grep -E '^(PRETTY_NAME|VERSION_ID)=' /etc/os-release 2> /dev/null
  echo "glibc: $(ldd --version 2> /dev/null | head -1)"
  echo "cpus: $(nproc), memory: $(awk '/MemTotal|MemAvailable/ {printf "%s %.1f GiB  ", $1, $2 / 1048576}' /proc/meminfo)"
  echo "/dev/shm: $(df -h /dev/shm 2> /dev/null | tail -1)"
  echo "device files: $(ls /dev/nvidia* 2> /dev/null | tr '\n' ' ')"
  echo "driver libraries:"
  ldconfig -p 2> /dev/null | grep -E 'libcuda\.so|libnvidia-ml\.so' || echo "  (none in ldconfig's cache)"
  echo "CUDA toolkit (not needed): $(command -v nvcc || echo none)"
  echo "nvidia-smi:"
  timeout -k 5 20 nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version --format=csv 2>&1 || echo "  (nvidia-smi failed or is missing)"
  timeout -k 5 20 nvidia-smi --query-compute-apps=pid,used_memory --format=csv 2>&1 || true
  echo "the binary: $(ls -l "$bin")"
  echo "what it links (no libcuda or CUDA runtime: the driver is loaded at run time):"
  ldd "$cb" 2>&1 | sed 's/^/  /'
  if command -v objdump > /dev/null; then
    echo "newest glibc symbol version it needs: $(objdump -T "$cb" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
  fi
} > "$out/facts.txt" 2>&1
cat "$out/facts.txt" >> "$log"
cat "$out/facts.txt"

if ! timeout -k 5 20 "$cb" coldbench --version >> "$log" 2>&1; then
  echo "error: the binary does not run here (see the 'what it links' lines in $out/facts.txt: a glibc or"
  echo "libstdc++ older than the build machine's, or a missing library); the log ends with:"
  tail -5 "$log"
  exit 1
fi

# Shared tensors on the CPU live in /dev/shm; where there is none, in the work folder.
shm_dir=/dev/shm
[ -d /dev/shm ] && [ -w /dev/shm ] || shm_dir=$work
cat > "$work/gpu.toml" << TOML
[tensor]
shapes = [[10, 10], [100, 100], [512, 512], [1024, 1024], [3, 8192, 8192]]
devices = ["cuda", "cpu"]
workers = [1, 5]
memory-size = "1GiB"
timeout = "30s"
shm-dir = "$shm_dir"
TOML
# 65536 x 65536 x 16 f32 is 256 GiB, more than any one GPU holds; 512 x 512 fits anywhere.
cat > "$work/oom.toml" << TOML
[tensor]
shapes = [[512, 512], [65536, 65536, 16]]
devices = ["cuda"]
modes = ["copy"]
timeout = "30s"
TOML
export TMPDIR=$work

step "env" 30 0 "$out/env.json" "$cb" coldbench env --format json
step "the rows, listed" 30 0 - "$cb" coldbench suite tensor --config "$work/gpu.toml" --list
# The sizes of the rows: 10x10, 100x100, 512x512 and 1024x1024 f32, and 3x8192x8192 f32.
step "host <-> device copies alone" 90 0 "$out/memcpy.json" \
  "$cb" __coldbench-worker cuda-memcpy --reps 11 400 40000 1MiB 4MiB 768MiB
step "tensor suite" 270 0 "$out/tensor.json" \
  "$cb" coldbench suite tensor --config "$work/gpu.toml" --quick --format json --output-dir "$work/results"
# A failed row makes the exit status 4: expected here.
step "a tensor that cannot fit" 60 4 "$out/oom.json" \
  "$cb" coldbench suite tensor --config "$work/oom.toml" --scenario transfer --no-memory-check --quick \
  --format json --output-dir "$work/results-oom"

if command -v python3 > /dev/null; then
  python3 - "$out" > "$out/summary.txt" 2>> "$log" << 'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except Exception as e:
        print(f"{name}: not readable ({e})")
        return None
def size(b):
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"]:
        if abs(b) < 1024 or unit == "TiB":
            return f"{b:.1f} {unit}"
        b /= 1024
env = load("env.json")
if env:
    for g in env.get("gpus", []):
        print(f"GPU {g['index']}: {g['name']}, {size(g['memory'])}, driver {g['driver']}")
    if not env.get("gpus"):
        print(f"no GPU: {env.get('gpu_note')}")
memcpy = load("memcpy.json")
if memcpy:
    print(f"\nhost <-> device alone ({memcpy['gpu']}, CUDA {memcpy['cuda_driver']}, median of {memcpy['reps']}):")
    for r in memcpy["rows"]:
        print(f"  {size(r['bytes']):>10}  pageable: HtoD {r['htod_pageable']*1e3:9.3f} ms  DtoH {r['dtoh_pageable']*1e3:9.3f} ms"
              f"   pinned: HtoD {r['htod_pinned']*1e3:9.3f} ms  DtoH {r['dtoh_pinned']*1e3:9.3f} ms")
for name in ["tensor.json", "oom.json"]:
    doc = load(name)
    if not doc:
        continue
    print(f"\n{name}:")
    for b in doc["benchmarks"]:
        s = b.get("summary", {})
        mean = lambda m: s.get(m, {}).get("mean")
        line = f"  {b['id']}: {b['status']}"
        if b["status"] != "ok":
            line += f" ({b.get('reason')})"
        elif mean("round_trip") is not None:
            line += f", round trip {mean('round_trip')*1e3:.3f} ms, {size(mean('throughput'))}/s"
        else:
            parts = [f"{m} {size(mean(m))}" for m in s if m.endswith(("_total_vram", "_worker_vram", "_total_pss", "_worker_pss", "_growth"))]
            if mean("saved") is not None:
                parts.insert(0, f"saved {mean('saved')*100:.1f}%")
            line += ", " + ", ".join(parts)
        print(line)
        for key in ["vram_pid_mapping", "vram_context_per_worker_bytes", "first_round_trip_seconds"]:
            if key in b.get("facts", {}):
                print(f"      {key}: {b['facts'][key]}")
PY
  cat "$out/summary.txt"
fi

say "finished in ${SECONDS}s with $failures step(s) not as expected; files in $out"
[ "$failures" -eq 0 ]
