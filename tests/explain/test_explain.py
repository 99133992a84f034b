#!/usr/bin/env python3
"""`perk run --explain`: the ledger is the same with and without it, every explanation line is
JSON, and every rule that wrote an effect was explained as allowed by its limit with a true
`when` (and no rule explained as stopped wrote one).

usage: test_explain.py --perk PATH [--engine jit,interp]
"""
import argparse, json, os, subprocess, sys, tempfile
# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = [os.path.join(ROOT, "examples", n)
         for n in ("forex_welcome", "forex_volume_tiers", "forex_redeposit", "punch_card", "forex_anniversary")]
# v0.2: keyed limits (the explanation's limit use is the key's), budget skips, segment triggers.
CASES += [os.path.join(ROOT, "tests", "golden", n) for n in ("keyed_limits", "client_budgets", "segment_triggers")]


def run(perk, case, engine, explain):
    with tempfile.TemporaryDirectory() as d:
        ledger = os.path.join(d, "ledger.jsonl")
        cmd = [perk, "run", os.path.join(case, "program.perk"), "--events", os.path.join(case, "events.jsonl"),
               "--ledger", ledger, "--rejects", os.path.join(d, "rejects.jsonl"), "--engine", engine]
        p = subprocess.run(cmd + (["--explain"] if explain else []), capture_output=True, text=True, timeout=120)
        with open(ledger) as f:
            return p.returncode, f.read(), p.stderr


def check(perk, case, engine):
    problems = []
    code, plain, _ = run(perk, case, engine, False)
    code2, explained, err = run(perk, case, engine, True)
    if code or code2:
        return [f"exit codes {code}, {code2}"]
    if plain != explained:
        problems.append("--explain changed the ledger")
    lines = [json.loads(l)["explain"] for l in err.splitlines() if l.startswith('{"explain"')]
    if not lines:
        problems.append("no explanation lines")
    # Each explanation names the input line of its record (or of the record whose time started
    # its day tick): the line where that record's id is.
    with open(os.path.join(case, "events.jsonl")) as f:
        line_of = {}
        for n, l in enumerate(f, 1):
            if l.strip():
                line_of.setdefault(json.loads(l).get("id"), n)  # a later copy is a duplicate
    for e in lines:
        if not e["trigger"].startswith("day:") and line_of.get(e["trigger"]) != e["line"]:
            problems.append(f"explanation of {e['rule']} at {e['trigger']} names line {e['line']}, "
                            f"the record is on line {line_of.get(e['trigger'])}")
            break
    allowed, stopped = set(), set()  # stopped: kept for debugging a failure
    for e in lines:
        key = (e["trigger"], e["client"], e["rule"])
        ok = e["when"] is True and (e["limit"] is None or e["limit"]["used"] < e["limit"]["max"])
        (allowed if ok else stopped).add(key)
    for entry in map(json.loads, plain.splitlines()):
        if entry["rule"] is None:
            continue
        trigger = entry["trigger"]
        if (trigger, entry["client"], entry["rule"]) not in allowed:
            problems.append(f"effect of rule {entry['rule']} for {entry['client']} at {trigger} was not explained as allowed")
            break
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", required=True)
    ap.add_argument("--engine", default="jit,interp")
    a = ap.parse_args()
    passed = failed = 0
    for engine in a.engine.split(","):
        for case in CASES:
            if not os.path.isdir(case):
                print(f"FAIL {case}: missing")
                failed += 1
                continue
            problems = check(a.perk, case, engine)
            name = f"{os.path.basename(case)} [{engine}]"
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
