#!/usr/bin/env python3
"""`perk fmt` throughput on the 200-rule program (bench/gen_program.py), end to end.

usage: fmt_bench.py --perk build/perk [--rules 200] [--runs 11]

Formats the generated program (as written, and once formatted) through `perk fmt -` RUNS
times each and prints the median wall time, bytes/s and rules/s, and the time of `perk check`
on the same program for scale. The figures include process start; FormatSource parses the
program twice (the second parse checks the result).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def median_seconds(cmd, text, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        p = subprocess.run(cmd, input=text, capture_output=True)
        times.append(time.perf_counter() - start)
        if p.returncode not in (0, 1):
            sys.exit(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode()[:400]}")
    return statistics.median(times), p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", default="build/perk")
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    program = subprocess.run([sys.executable, os.path.join(HERE, "gen_program.py"), "--rules", str(args.rules)],
                             capture_output=True, check=True).stdout
    path = os.path.join(HERE, "out", f"program_{args.rules}.perk")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(program)
    raw, formatted = median_seconds([args.perk, "fmt", "-"], program, args.runs)
    again, _ = median_seconds([args.perk, "fmt", "-"], formatted, args.runs)
    check, _ = median_seconds([args.perk, "check", path], b"", args.runs)
    lines = program.count(b"\n")
    print(f"program: {args.rules} rules, {len(program)} bytes, {lines} lines ({path})")
    for name, t, size in (("perk fmt (as generated)", raw, len(program)),
                          ("perk fmt (already formatted)", again, len(formatted))):
        print(f"{name}: {t * 1000:.1f} ms median of {args.runs}, {size / t / 1e6:.2f} MB/s, "
              f"{args.rules / t:.0f} rules/s")
    print(f"perk check (for scale): {check * 1000:.1f} ms median of {args.runs}")


if __name__ == "__main__":
    main()
