"""A small pipeline runtime: a source, N transform stages and a sink, over integers or text.

The implementation the Rust rewrite (src/main.rs) replaces; both print the same checksum.
Usage: python3 pipeline.py --stages N --items M --kind int|text
"""
import time

STARTED = time.perf_counter()

import argparse
import os
import re

MASK = (1 << 64) - 1


def coldbench_report(name, value, unit="count", better="lower"):
    """Appends one metric line to the file cargo-coldbench names in COLDBENCH_METRICS."""
    path = os.environ.get("COLDBENCH_METRICS")
    if path:
        with open(path, "a") as f:
            f.write(f"{name}={float(value)!r} unit={unit} better={better}\n")


def int_stage(k):
    if k % 3 == 0:
        return lambda x: (x * 3 + k) & MASK
    if k % 3 == 1:
        return lambda x: x ^ (x >> 7) ^ k
    return lambda x: ((((x << 5) | (x >> 59)) & MASK) + 0x9E3779B9) & MASK


VOWELS = re.compile("[aeiou]")


def text_stage(k):
    return [
        lambda s: s.lower(),
        lambda s: s[::-1],
        lambda s: VOWELS.sub("*", s),
        lambda s: f"{k}:{s}",
        lambda s: "_".join(s.split()),
    ][k % 5]


def checksum(items):
    """FNV-1a over the items, as the Rust sink computes it."""
    h = 0xCBF29CE484222325
    for item in items:
        data = item.to_bytes(8, "little") if isinstance(item, int) else item.encode()
        for b in data:
            h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stages", type=int, default=3)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--kind", choices=["int", "text"], default="int")
    args = parser.parse_args()
    text = args.kind == "text"
    stages = [text_stage(k) if text else int_stage(k) for k in range(args.stages)]

    def source():
        for i in range(args.items):
            yield f"Item {i:05d} The Quick Brown Fox Jumps" if text else i

    def run(item):
        for stage in stages:
            item = stage(item)
        return item

    coldbench_report("init", time.perf_counter() - STARTED, "seconds", "lower")
    running = time.perf_counter()
    total = checksum(run(item) for item in source())
    coldbench_report("items_per_second", args.items / (time.perf_counter() - running), "per_second", "higher")
    print(f"{total:016x}")


main()
