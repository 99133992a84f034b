#!/usr/bin/env python3
"""Checks `perk analyze`'s claims against real runs of the differential generator's programs.

usage: difftest_check.py --perk PATH [--seeds N] [--start S] [--jobs J] [--effort N]

For each seed, tests/difftest/gen.py makes a program and a stream; `perk analyze --json`
analyzes the program (with the case's --param overrides) and `perk run --engine interp` runs
the stream. Then:
- a rule the analysis says can never fire (A0001, A0003) has no entry in the ledger (not even
  a budget `skip`), and one whose every firing its budget stops (A0002) has only `skip` entries;
- what a rule credits to a wallet for one firing (the sum of its credit entries with the same
  trigger id, time and client, counter-entries aside; an id may come back after 30 days) is at
  most the per-firing bound it reported.

Prints the number of claims checked, then `N passed, N failed` (one per seed) as its last line;
exits 1 on any failure.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "difftest"))
import gen  # noqa: E402

DEAD = {"A0001", "A0002", "A0003"}


def amount(v):
    return Decimal(str(v))


def check_seed(perk, seed, effort):
    """(dead claims checked, bounds checked, failures)"""
    program, stream, args = gen.generate(seed)
    with tempfile.TemporaryDirectory(prefix="perk-analyze-dt-") as d:
        gen.write_case(d, program, stream, args)
        params = []
        for i, x in enumerate(args):
            if x == "--param":
                params += ["--param", args[i + 1]]
        try:
            r = subprocess.run([perk, "analyze", os.path.join(d, "program.perk"), "--json", "--effort", str(effort)]
                               + params, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return 0, 0, [f"seed {seed}: perk analyze took more than 120 s"]
        if r.returncode != 0:
            return 0, 0, [f"seed {seed}: perk analyze exited {r.returncode}: {r.stderr.strip()[:500]}"]
        report = json.loads(r.stdout)
        run = subprocess.run([perk, "run", os.path.join(d, "program.perk"), "--events", os.path.join(d, "events.jsonl"),
                              "--engine", "interp", "--rejects", os.devnull] + args,
                             capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            return 0, 0, [f"seed {seed}: perk run exited {run.returncode}: {run.stderr.strip()[:500]}"]
    ledger = [json.loads(l) for l in run.stdout.splitlines() if l.strip()]
    failures = []
    dead = {f["rule"] for f in report["findings"] if f["code"] in DEAD and f["rule"]}
    # A0002 says no firing completes: the budget's `skip` entries are what it predicts.
    skipping = {f["rule"] for f in report["findings"] if f["code"] == "A0002"}
    for e in ledger:
        if e.get("rule") in skipping and e.get("action") == "skip":
            continue
        if e.get("rule") in dead:
            failures.append(f"seed {seed}: rule `{e['rule']}` was claimed dead but wrote {json.dumps(e)}")
            dead.discard(e["rule"])
    paid = {}
    for e in ledger:
        if e.get("action") != "credit" or "reverses" in e or not e.get("rule"):
            continue
        key = (e["rule"], e["wallet"], (e["trigger"], e["time"]), e["client"])
        paid[key] = paid.get(key, Decimal(0)) + amount(e["amount"])
    bounds = 0
    for p in report["payouts"]:
        b = p["per_firing"]
        if b["state"] != "bounded":
            continue
        limit = amount(b["amount"])
        for (rule, wallet, trigger, client), v in paid.items():
            if rule == p["rule"] and wallet == p["wallet"]:
                bounds += 1
                if v > limit:
                    failures.append(f"seed {seed}: rule `{rule}` credited {v} to `{wallet}` for {trigger} "
                                    f"(client {client}), above its per-firing bound {limit}")
    return len({f["rule"] for f in report["findings"] if f["code"] in DEAD}), bounds, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perk", required=True)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--effort", type=int, default=5_000_000)
    a = ap.parse_args()
    perk = os.path.abspath(a.perk)
    if "PERK_JIT_CACHE" not in os.environ:
        os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    passed, failed, dead_total, bound_total = 0, 0, 0, 0
    seeds = range(a.start, a.start + a.seeds)
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        for seed, (dead, bounds, failures) in zip(seeds, pool.map(lambda s: check_seed(perk, s, a.effort), seeds)):
            dead_total += dead
            bound_total += bounds
            for f in failures:
                print("FAIL", f)
            if failures:
                failed += 1
            else:
                passed += 1
    print(f"{dead_total} rules claimed dead checked against their runs, {bound_total} firings checked against "
          f"their per-firing bounds")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
