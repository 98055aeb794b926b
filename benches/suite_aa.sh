#!/usr/bin/env bash
# Suite comparisons you can gate on: false alarms of A/A compares (identical code) and detection
# of a user's server made 20% slower, in a throwaway git repository whose package has the ZeroMQ,
# RPC and tensor tables (built-in servers and workers; `detect` adds a Python server).
#
#   benches/suite_aa.sh zmq-quick N      N × `suite zmq --quick --compare HEAD --fail-on regression`
#   benches/suite_aa.sh zmq-full N       N × `suite zmq --scenario throughput --scenario latency
#                                             --compare HEAD --fail-on regression`
#   benches/suite_aa.sh zmq-throughput N the throughput scenario alone (with ZMQ_TABLE: a few rows)
#   benches/suite_aa.sh rpc-quick N      N × `suite rpc --quick --compare HEAD --fail-on regression`
#   benches/suite_aa.sh tensor-quick N   N × `suite tensor --quick --compare HEAD --fail-on regression`
#   benches/suite_aa.sh starts-40 N      N × `start --quick --compare HEAD --fail-on regression` of a
#                                        package with 40 binaries (a start row each)
#   benches/suite_aa.sh detect N         a user REP server in Python that does 0.5 ms of work per
#                                        request (payloads 64 B, 1 KiB, 16 KiB; 1 and 10 clients;
#                                        1 000 and 5 000 requests/s; the built-in server's rows on
#                                        tcp only, to keep a compare near a minute and a half):
#                                        one plain quick run measures its time per request
#                                        per payload (1 / its req-rep throughput); the working
#                                        tree's server then spins 25% of that more before each
#                                        reply (its requests take 25% longer: its throughput falls
#                                        by 20%); N quick compares of the throughput and latency
#                                        scenarios against HEAD.
#
# One line per compare: seconds, exit status, gating rows, flagged rows (any verdict but no change
# and within noise), and the flagged rows themselves; then the totals. Extra arguments go to every
# coldbench command (`--processes 12`). The JSON results are kept in $KEEP when it is set.
# Environment: COLDBENCH, another cargo-coldbench binary to run (default: this checkout's release
# build); ZMQ_TABLE, more keys for [package.metadata.bench.zmq] (`transports = ["ipc"]`), to
# repeat a few rows quickly.
set -euo pipefail
mode=${1:?usage: suite_aa.sh zmq-quick|zmq-full|zmq-throughput|rpc-quick|tensor-quick|starts-40|detect N [ARGS...]}
n=${2:-10}
shift $(($# < 2 ? $# : 2))
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
keep=${KEEP:-$work/keep}
mkdir -p "$keep"
trap 'rm -rf "$work"' EXIT
if [[ -n ${COLDBENCH:-} ]]; then
  coldbench=$(realpath "$COLDBENCH")
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  coldbench="$root/target/release/cargo-coldbench"
fi
port=$((20000 + RANDOM % 20000))
proj="$work/proj"
mkdir -p "$proj/src"
server=""
if [ "$mode" = detect ]; then
  server="server = { command = [\"python3\", \"server.py\", \"tcp://127.0.0.1:$port\"], name = \"pyecho\", \
endpoint = \"tcp://127.0.0.1:$port\", ready = { stdout = \"^ready\" } }
payload-sizes = [64, \"1KiB\", \"16KiB\"]
clients = [1, 10]
rates = [1000, 5000]
latency-payload-sizes = [64, \"16KiB\"]
transports = [\"tcp\"]"
fi
cat > "$proj/Cargo.toml" <<TOML
[package]
name = "gate"
version = "0.1.0"
edition = "2021"

[workspace]

[package.metadata.bench.zmq]
$server
${ZMQ_TABLE:-}

[package.metadata.bench.rpc]

[package.metadata.bench.tensor]
TOML
echo '' > "$proj/src/lib.rs"
if [ "$mode" = starts-40 ]; then
  # 40 binaries, each a start row: they print a line and exit.
  mkdir -p "$proj/src/bin"
  for i in $(seq -w 1 40); do
    printf 'fn main() {\n    println!("tool %s");\n}\n' "$i" > "$proj/src/bin/tool$i.rs"
  done
fi
# A REP echo server in Python that works WORK seconds per request; DELAY maps a request's size to
# the seconds spun on top of that before the reply.
cat > "$proj/server.py" <<'PY'
import sys
import time

import zmq

WORK = 0.0005
DELAY = {}

ctx = zmq.Context()
socket = ctx.socket(zmq.REP)
socket.setsockopt(zmq.LINGER, 0)
socket.bind(sys.argv[1])
print("ready", flush=True)
while True:
    frames = socket.recv_multipart()
    until = time.perf_counter() + WORK + DELAY.get(sum(len(f) for f in frames), 0.0)
    while time.perf_counter() < until:
        pass
    socket.send_multipart(frames)
PY
printf '/target\n' > "$proj/.gitignore"
(cd "$proj" && cargo generate-lockfile --offline --quiet && git init -q -b main && git add -A &&
  git -c user.name=bench -c user.email=bench@example.invalid commit -qm A)

case $mode in
  zmq-quick) args=(suite zmq --quick) ;;
  zmq-full) args=(suite zmq --scenario throughput --scenario latency) ;;
  zmq-throughput) args=(suite zmq --scenario throughput) ;;
  rpc-quick) args=(suite rpc --quick) ;;
  tensor-quick) args=(suite tensor --quick) ;;
  starts-40) args=(start --quick) ;;
  detect) args=(suite zmq --quick --scenario throughput --scenario latency) ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac

if [ "$mode" = detect ]; then
  # The server's time per request at each payload, from its req-rep throughput rows.
  (cd "$proj" && "$coldbench" coldbench "${args[@]}" -q --format json "$@" > "$keep/detect-baseline.json") || true
  delays=$(python3 - "$keep/detect-baseline.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
out = {}
for b in doc["benchmarks"]:
    p = b["params"]
    if p.get("server") == "pyecho" and b["kind"] == "zmq" and p.get("pattern") == "req-rep" and b["status"] == "ok":
        out[int(p["payload"])] = round(0.25 / b["summary"]["throughput"]["mean"], 9)
print(repr(out))
PY
)
  echo "slower server: spins $delays seconds per request, by request size" >&2
  sed -i "s/^DELAY = {}/DELAY = $delays/" "$proj/server.py"
fi

alarms=0
exits=0
for i in $(seq 1 "$n"); do
  start=$(date +%s)
  set +e
  (cd "$proj" && "$coldbench" coldbench "${args[@]}" --compare HEAD --fail-on regression -q --format json "$@" \
    > "$keep/$mode-$i.json")
  status=$?
  set -e
  line=$(python3 - "$keep/$mode-$i.json" "$mode" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
cmp = doc["comparison"]
rows = [r for r in cmp["rows"] if r["gating"]]
flagged = [r for r in rows if r["verdict"] not in ("no_change", "within_noise")]
short = lambda r: r["id"].split("/", 2)[-1] + (" " + r["metric"] if r["metric"] not in ("throughput",) else "")
text = "; ".join(f"{short(r)} {r.get('ratio') or 0:.3f} {r['verdict']} (p {r.get('p_value') or 1:.3g}, adj {r.get('p_adjusted') or 1:.3g})"
                 for r in flagged)
if sys.argv[2] == "detect":
    mine = [r for r in rows if "server=pyecho" in r["id"]]
    slower = lambda r: r["verdict"] in ("regressed", "warning", "failure")
    thr = [r for r in mine if r["metric"] == "throughput"]
    lat = [r for r in mine if r["metric"].startswith("latency")]
    found = int(any(map(slower, thr)) and any(map(slower, lat)))
    print(f"found={found} throughput rows flagged {sum(map(slower, thr))}/{len(thr)}, "
          f"latency rows flagged {sum(map(slower, lat))}/{len(lat)}, other rows flagged "
          f"{len([r for r in flagged if r not in mine])}")
else:
    print(f"{len(rows)} gating rows, {len(flagged)} flagged alarm={int(bool(flagged))} {text}")
PY
)
  echo "$mode $i: $(($(date +%s) - start)) s, exit $status, $line"
  [[ $line == *alarm=1* || $line == found=1* ]] && alarms=$((alarms + 1))
  [ "$status" -eq 3 ] && exits=$((exits + 1))
done
if [ "$mode" = detect ]; then
  echo "compares that found the slower server (a throughput and a latency row regressed): $alarms of $n"
  python3 - "$keep"/detect-[0-9]*.json <<'PY'
import json, statistics, sys
from collections import defaultdict
per = defaultdict(list)
for f in sys.argv[1:]:
    for r in json.load(open(f))["comparison"]["rows"]:
        if r["gating"] and "server=pyecho" in r["id"] and r.get("ratio"):
            per[(r["id"].split("/", 2)[-1], r["metric"])].append(r)
for (bid, metric), rs in per.items():
    hit = sum(r["verdict"] in ("regressed", "warning", "failure") for r in rs)
    print(f"  {bid} {metric}: flagged {hit}/{len(rs)}, ratio median {statistics.median(r['ratio'] for r in rs):.3f}, "
          f"could detect ≥ {100 * statistics.median(r.get('detectable') or 0 for r in rs):.0f}%")
PY
else
  echo "compares with any gating row flagged: $alarms of $n; exit status 3: $exits of $n"
fi
