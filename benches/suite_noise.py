"""Where the noise of a suite row comes from: rounds within one server process against processes.

usage:
  python3 benches/suite_noise.py plain RESULT.json...    one-way analysis of variance per row
  python3 benches/suite_noise.py aa RESULT.json...       A/A compares: the spread of the sides'
                                                         ratio against what the rounds predict

`plain`: each file is one `cargo coldbench suite ...` run, in which each row ran against a server
process of its own for R rounds. On the log scale, per row and gating metric: the within-process
standard deviation σw (pooled over the runs' rounds), the between-process standard deviation σb
(of the runs' means, less the part σw explains: var(means) − σw²/R), and the share of the
variance between processes, ρ = σb² / (σb² + σw²), the intra-class correlation of two rounds of
one process.

`aa`: each file is one `--compare HEAD` of identical code, each side against a process of its own,
interleaved round by round. Per row: the standard deviation over the files of the log ratio of the
sides' means, against the standard error the rounds alone predict (√(2/R)·σw) — the ratio of the
two is how much too narrow an interval built from the rounds is — and how many gating rows each
compare flagged.
"""

import json
import math
import statistics
import sys
from collections import defaultdict

GATING = ("throughput", "latency_p50", "latency_p99", "call", "overhead", "round_trip", "handshake")


def rows(doc):
    for b in doc["benchmarks"]:
        if b["status"] != "ok":
            continue
        for metric, desc in b["metrics"].items():
            if desc.get("gates") and metric in b["samples"]:
                values = [v for v in b["samples"][metric] if v > 0]
                if len(values) >= 2:
                    yield b["id"], metric, [math.log(v) for v in values]


def short(bid):
    return bid.split("/", 2)[-1]


def plain(files):
    per = defaultdict(list)
    for f in files:
        for bid, metric, logs in rows(json.load(open(f))):
            per[(bid, metric)].append(logs)
    print(f"{'row':70} {'metric':12} {'runs':>4} {'R':>3} {'σw %':>7} {'σb %':>7} {'ρ':>5}")
    shares = defaultdict(list)
    for (bid, metric), runs in per.items():
        if len(runs) < 3:
            continue
        r = min(len(x) for x in runs)
        within = statistics.mean(statistics.variance(x) for x in runs)
        means = [statistics.mean(x) for x in runs]
        between = max(0.0, statistics.variance(means) - within / r)
        rho = between / (between + within) if between + within > 0 else 0.0
        shares[metric].append((rho, math.sqrt(within), math.sqrt(between)))
        print(
            f"{short(bid):70} {metric:12} {len(runs):4} {r:3} {100 * math.sqrt(within):7.2f} "
            f"{100 * math.sqrt(between):7.2f} {rho:5.2f}"
        )
    print()
    for metric, xs in shares.items():
        rho = statistics.median(x[0] for x in xs)
        sw = statistics.median(x[1] for x in xs)
        sb = statistics.median(x[2] for x in xs)
        print(f"{metric:12} {len(xs):3} rows: median σw {100 * sw:.2f}%, median σb {100 * sb:.2f}%, median ρ {rho:.2f}")


def aa(files):
    ratios = defaultdict(list)
    predicted = defaultdict(list)
    for f in files:
        doc = json.load(open(f))
        base = {b["id"]: b for b in doc["comparison"]["baseline_benchmarks"]}
        flagged = [
            r for r in doc["comparison"]["rows"]
            if r["gating"] and r["verdict"] in ("regressed", "warning", "failure", "improved")
        ]
        print(f"{f}: {len(flagged)} gating rows flagged: "
              + ", ".join(f"{short(r['id'])} {r['metric']} {r['ratio']:.3f} {r['verdict']}" for r in flagged))
        cand = {(bid, metric): logs for bid, metric, logs in rows(doc)}
        for bid, metric, b_logs in rows({"benchmarks": list(base.values())}):
            c_logs = cand.get((bid, metric))
            if metric not in GATING or c_logs is None:
                continue
            ratios[(bid, metric)].append(statistics.mean(c_logs) - statistics.mean(b_logs))
            r = min(len(b_logs), len(c_logs))
            within = (statistics.variance(b_logs) + statistics.variance(c_logs)) / 2
            predicted[(bid, metric)].append(math.sqrt(2 * within / r))
    print()
    print(f"{'row':70} {'metric':12} {'n':>3} {'sd(log ratio) %':>16} {'rounds predict %':>17} {'factor':>7}")
    factors = []
    for key, xs in ratios.items():
        if len(xs) < 3:
            continue
        sd = statistics.stdev(xs)
        pred = statistics.mean(predicted[key])
        factors.append(sd / pred if pred > 0 else float("nan"))
        print(f"{short(key[0]):70} {key[1]:12} {len(xs):3} {100 * sd:16.2f} {100 * pred:17.2f} {factors[-1]:7.2f}")
    if factors:
        print(f"\nmedian factor (observed spread of the A/A ratio / what the rounds predict): "
              f"{statistics.median(factors):.2f} over {len(factors)} rows")


def blocks(files):
    """Compares measured block by block: per row, the mean log ratio of the blocks where the
    baseline went first (even) and where the candidate went first (odd). A difference between the
    two is an effect of going second, which alternating the order cancels."""
    per = defaultdict(lambda: ([], []))
    for f in files:
        doc = json.load(open(f))
        base = {b["id"]: b for b in doc["comparison"]["baseline_benchmarks"]}
        for cand in doc["benchmarks"]:
            b = base.get(cand["id"])
            if not b or cand["status"] != "ok" or b["status"] != "ok" or not cand.get("processes"):
                continue
            for metric, desc in cand["metrics"].items():
                if not desc.get("gates") or metric not in cand["samples"]:
                    continue
                def means(r):
                    out = defaultdict(list)
                    for v, p in zip(r["samples"][metric], r["processes"]):
                        out[p].append(v)
                    return {p: statistics.mean(v) for p, v in out.items()}
                mb, mc = means(b), means(cand)
                for p in mb:
                    if p in mc and mb[p] > 0 and mc[p] > 0:
                        per[(cand["id"], metric)][p % 2].append(math.log(mc[p] / mb[p]))
    print(f"{'row':70} {'metric':12} {'A first %':>10} {'B first %':>10} {'order effect %':>15}")
    effects = []
    for (bid, metric), (even, odd) in per.items():
        if len(even) < 2 or len(odd) < 2:
            continue
        e, o = statistics.mean(even), statistics.mean(odd)
        effects.append((e - o) / 2)
        print(f"{short(bid):70} {metric:12} {100 * e:10.2f} {100 * o:10.2f} {100 * (e - o) / 2:15.2f}")
    if effects:
        print(f"\nmedian |order effect|: {100 * statistics.median(abs(x) for x in effects):.2f}% over {len(effects)} rows")


def flags(files):
    """Per compare: its exit status is not known here, so the gating rows flagged and the rows
    that would be flagged without the family adjustment (raw p < 0.05 and the same verdict rule)."""
    for f in files:
        doc = json.load(open(f))
        rows = [r for r in doc["comparison"]["rows"] if r["gating"] and r.get("p_value") is not None]
        flagged = [r for r in rows if r["verdict"] in ("regressed", "warning", "failure", "improved")]
        raw = [r for r in rows if r["p_value"] < 0.05]
        worst = min((r.get("p_adjusted", r["p_value"]) for r in rows), default=1.0)
        print(f"{f}: {len(rows)} gating rows, {len(flagged)} flagged, {len(raw)} with raw p < 0.05, "
              f"smallest adjusted p {worst:.3f}"
              + "".join(f"\n    {short(r['id'])} {r['metric']} {r['ratio']:.3f} {r['verdict']} p {r['p_value']:.4f}"
                        f" adj {r.get('p_adjusted', float('nan')):.4f}" for r in flagged))


if __name__ == "__main__":
    {"plain": plain, "aa": aa, "blocks": blocks, "flags": flags}[sys.argv[1]](sys.argv[2:])
