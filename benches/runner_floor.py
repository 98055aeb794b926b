#!/usr/bin/env python3
"""The runner's peak-RSS floor: the least `max_rss` a program spawned by the runner can report.

Linux folds the peak RSS of the address space that `exec` replaces (with a CLONE_VM spawn, the
runner's) into the child's `ru_maxrss`. This drives a runner over its protocol the way a
head-to-head does (no specs at start, two specs added, a facts run of each, then interleaved
runs, one request per run and then in batches) and prints the `max_rss` of `/bin/true`, whose own
peak (about 1 MiB) is below the floor.

Usage: benches/runner_floor.py [BINARY] [RUNS]   (default: target/release/coldbench-runner, 10)
BINARY is the runner binary, or a cargo-coldbench (older builds, or one with no runner beside it).
"""
import json
import subprocess
import sys

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/coldbench-runner"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def spec(program, *args):
    return {"program": program, "args": list(args), "env": {}, "cwd": "/", "readiness": {"kind": "exit"},
            "timeout": {"secs": 10, "nanos": 0}}


runner = subprocess.Popen([binary, "__coldbench-runner"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def ask(line):
    runner.stdin.write(line + "\n")
    runner.stdin.flush()
    reply = json.loads(runner.stdout.readline())
    if "Error" in reply:
        sys.exit(f"error: the runner said: {reply['Error']}")
    return reply


ask("[]")
sides = [ask("add " + json.dumps(s))["Added"] for s in (spec("/bin/true"), spec(sys.executable, "-c", "pass"))]
for side in sides:
    ask(f"facts {side}")
floors = []
for _ in range(runs):
    for side in sides:
        record = ask(f"run {side}")["Record"]
        if side == sides[0]:
            floors.append(record["usage"]["max_rss"] / 2**20)
print(f"/bin/true max_rss over {runs} runs: {min(floors):.2f}-{max(floors):.2f} MiB (first {floors[0]:.2f})")
# The same interleaved runs asked for in batches of 128, as the scheduler asks for them now.
batched = []
for _ in range(3):
    order = " ".join(str(side) for _ in range(64) for side in sides)
    records = ask(f"runs {order}")["Batch"]["records"]
    batched += [r["usage"]["max_rss"] / 2**20 for r in records[::2]]
runner.stdin.close()
runner.wait()
print(f"/bin/true max_rss over {len(batched)} runs in 3 batches: {min(batched):.2f}-{max(batched):.2f} MiB "
      f"(first {batched[0]:.2f}, last {batched[-1]:.2f})")
