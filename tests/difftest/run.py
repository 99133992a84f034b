#!/usr/bin/env python3
"""Differential testing of Perk's engines: random programs and streams, run by each engine.

usage: run.py --perk PATH [--seeds N] [--start S] [--engines interp,jit,jit:light] [--jobs J]
              [--keep-failures DIR] [--no-shrink] [--timeout SECONDS]

For each seed S..S+N-1, tests/difftest/gen.py makes a well-typed program and a stream for it;
`perk run --engine E` runs them with every engine. The first engine (the reference
interpreter by default) is the reference: every other engine must give the same exit code and
byte-identical ledger, rejects and summary, and the reference must exit 0 (a program that fails
`perk check` is a generator bug, and counts as a failure too).

On a failure it prints the seed and the first difference. With --keep-failures it writes
DIR/seed-S/ with the program, the stream, case.json (the run's extra args) and each engine's
outputs, then shrinks the case (drops program lines and records while the engines still
disagree) into DIR/seed-S/min/; rerun one case with `run.py --perk PATH --case DIR/seed-S/min`.

Prints a coverage summary, then `N passed, N failed` as its last line; exits 1 on any failure.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)


class Outcome:
    __slots__ = ("rc", "ledger", "rejects", "stderr")

    def __init__(self, rc, ledger, rejects, stderr):
        self.rc = rc
        self.ledger = ledger
        self.rejects = rejects
        self.stderr = stderr

    def same(self, other):
        return (self.rc == other.rc and self.ledger == other.ledger and self.rejects == other.rejects
                and self.stderr == other.stderr)


def run_engine(perk, engine, program, stream, args, workdir, timeout):
    ledger = os.path.join(workdir, f"{engine}.ledger.jsonl")
    rejects = os.path.join(workdir, f"{engine}.rejects.jsonl")
    for path in (ledger, rejects):
        if os.path.exists(path):
            os.remove(path)
    # ENGINE[:OPTION...]: an option is an IR pipeline for the JIT (perk run --jit-ir), e.g.
    # jit:light, or reevaluate-all (perk run --reevaluate all), e.g. interp:reevaluate-all.
    name, *options = engine.split(":")
    flags = []
    for option in options:
        flags += ["--reevaluate", "all"] if option == "reevaluate-all" else ["--jit-ir", option]
    cmd = [perk, "run", program, "--events", stream, "--ledger", ledger, "--rejects", rejects,
           "--engine", name] + flags + list(args)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = "timeout", b""

    def read(path):
        if not os.path.exists(path):
            return b""
        with open(path, "rb") as f:
            return f.read()
    return Outcome(rc, read(ledger), read(rejects), err)


def run_case(perk, engines, program_text, stream_text, args, workdir, timeout):
    """Writes the case into workdir and runs every engine; returns {engine: Outcome}."""
    program = os.path.join(workdir, "program.perk")
    stream = os.path.join(workdir, "events.jsonl")
    with open(program, "w", encoding="utf-8", newline="") as f:
        f.write(program_text)
    with open(stream, "w", encoding="utf-8", newline="") as f:
        f.write(stream_text)
    return {e: run_engine(perk, e, program, stream, args, workdir, timeout) for e in engines}


def first_difference(a, b):
    """The first differing line of two byte strings, as (line number, a's line, b's line)."""
    la, lb = a.split(b"\n"), b.split(b"\n")
    for k in range(max(len(la), len(lb))):
        x = la[k] if k < len(la) else b"<missing>"
        y = lb[k] if k < len(lb) else b"<missing>"
        if x != y:
            return k + 1, x.decode("utf-8", "replace"), y.decode("utf-8", "replace")
    return None


def verdict(outcomes, engines):
    """None when every engine agrees with the reference and it exited 0, else (kind, text)."""
    ref_name = engines[0]
    ref = outcomes[ref_name]
    for name in engines[1:]:
        o = outcomes[name]
        if o.same(ref):
            continue
        parts = []
        if o.rc != ref.rc:
            parts.append(f"exit {ref_name}={ref.rc} {name}={o.rc}")
        for what in ("ledger", "rejects", "stderr"):
            d = first_difference(getattr(ref, what), getattr(o, what))
            if d:
                parts.append(f"{what} line {d[0]}:\n    {ref_name}: {d[1][:400]}\n    {name}: {d[2][:400]}")
        return "mismatch", "; ".join(parts)
    if ref.rc != 0:
        err = ref.stderr.decode("utf-8", "replace")
        if ref.rc == 1 and ": error:" in err:
            return "invalid", "the generated program fails `perk check` (a generator bug):\n" + err[:1500]
        return "crash", f"{ref_name} exited {ref.rc}:\n{err[-1500:]}"
    return None


def shrink(perk, engines, program, stream, args, kind, timeout, budget=600):
    """Drops program lines and records while the failure keeps its kind; returns the smaller
    (program, stream). Greedy chunked deletion (ddmin-like), bounded by `budget` runs."""
    tries = [0]
    tmp = tempfile.mkdtemp(prefix="perk-shrink-")

    def still_fails(p, s):
        if tries[0] >= budget:
            return False
        tries[0] += 1
        v = verdict(run_case(perk, engines, p, s, args, tmp, timeout), engines)
        return v is not None and v[0] == kind

    def reduce(lines, rebuild):
        chunk = max(1, len(lines) // 2)
        while chunk >= 1:
            k = 0
            changed = False
            while k < len(lines):
                candidate = lines[:k] + lines[k + chunk:]
                if candidate and still_fails(*rebuild(candidate)):
                    lines = candidate
                    changed = True
                else:
                    k += chunk
            if not changed:
                chunk //= 2
        return lines

    try:
        # Records first (cheap to drop, and fewer records make every later run faster).
        s_lines = stream.split("\n")
        s_lines = reduce(s_lines, lambda c: (program, "\n".join(c)))
        stream = "\n".join(s_lines)
        # Whole declarations (blank-line separated), then single lines.
        blocks = program.split("\n\n")
        blocks = reduce(blocks, lambda c: ("\n\n".join(c), stream))
        program = "\n\n".join(blocks)
        p_lines = program.split("\n")
        p_lines = reduce(p_lines, lambda c: ("\n".join(c), stream))
        program = "\n".join(p_lines)
        s_lines = reduce(stream.split("\n"), lambda c: (program, "\n".join(c)))
        stream = "\n".join(s_lines)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return program, stream


def keep(directory, program, stream, args, outcomes, report):
    os.makedirs(directory, exist_ok=True)
    gen.write_case(directory, program, stream, args, report.split("\n")[0])
    for name, o in outcomes.items():
        for what in ("ledger", "rejects", "stderr"):
            with open(os.path.join(directory, f"{name}.{what}"), "wb") as f:
                f.write(getattr(o, what))
        with open(os.path.join(directory, f"{name}.exit"), "w") as f:
            f.write(f"{o.rc}\n")
    with open(os.path.join(directory, "report.txt"), "w", encoding="utf-8") as f:
        f.write(report + "\n")


def check_seed(opts, seed):
    program, stream, args = gen.generate(seed)
    tmp = tempfile.mkdtemp(prefix=f"perk-diff-{seed}-")
    try:
        outcomes = run_case(opts.perk, opts.engines, program, stream, args, tmp, opts.timeout)
        v = verdict(outcomes, opts.engines)
        stats = coverage(outcomes[opts.engines[0]])
        if v is None:
            return seed, None, stats
        kind, text = v
        report = f"seed {seed}: {kind}: {text}"
        if opts.keep_failures:
            where = os.path.join(opts.keep_failures, f"seed-{seed}")
            keep(where, program, stream, args, outcomes, report)
            report += f"\n  kept in {where}"
            if not opts.no_shrink and kind != "invalid":
                p2, s2 = shrink(opts.perk, opts.engines, program, stream, args, kind, opts.timeout)
                o2 = run_case(opts.perk, opts.engines, p2, s2, args, tmp, opts.timeout)
                v2 = verdict(o2, opts.engines) or ("?", "no longer fails")
                keep(os.path.join(where, "min"), p2, s2, args, o2, f"seed {seed} (shrunk): {v2[0]}: {v2[1]}")
                report += (f"\n  shrunk to {p2.count(chr(10)) + 1} program lines and "
                           f"{sum(1 for l in s2.split(chr(10)) if l.strip())} records in {where}/min")
        return seed, (kind, report), stats
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def coverage(o):
    """What a run exercised, for the summary: ledger entries by action, rejects by cause."""
    c = {"ledger": 0, "rejects": 0, "runtime_errors": 0}
    for line in o.ledger.split(b"\n"):
        if line:
            c["ledger"] += 1
            try:
                a = json.loads(line).get("action", "?")
            except ValueError:
                a = "?"
            c["action:" + a] = c.get("action:" + a, 0) + 1
    for line in o.rejects.split(b"\n"):
        if line:
            c["rejects"] += 1
            if b"at program line" in line or b"overflow" in line:
                c["runtime_errors"] += 1
    return c


def run_one_case(opts, case_dir):
    with open(os.path.join(case_dir, "program.perk"), encoding="utf-8", newline="") as f:
        program = f.read()
    with open(os.path.join(case_dir, "events.jsonl"), encoding="utf-8", newline="") as f:
        stream = f.read()
    args = []
    meta = os.path.join(case_dir, "case.json")
    if os.path.exists(meta):
        with open(meta, encoding="utf-8") as f:
            args = json.load(f).get("args", [])
    tmp = tempfile.mkdtemp(prefix="perk-case-")
    try:
        v = verdict(run_case(opts.perk, opts.engines, program, stream, args, tmp, opts.timeout), opts.engines)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if v:
        print(f"FAIL {case_dir}: {v[0]}: {v[1]}")
        print("0 passed, 1 failed")
        return 1
    print(f"ok   {case_dir}")
    print("1 passed, 0 failed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perk", required=True)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--engines", default="interp,jit",
                    help="comma-separated; the first is the reference (default interp,jit); "
                         "ENGINE:IR runs the JIT with `--jit-ir IR` (jit:light, jit:O0); "
                         "ENGINE:reevaluate-all with `--reevaluate all` (interp:reevaluate-all)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--keep-failures", metavar="DIR")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--case", help="rerun one kept case folder instead of generating")
    opts = ap.parse_args()
    opts.perk = os.path.abspath(opts.perk)
    opts.engines = [e.strip() for e in opts.engines.split(",") if e.strip()]
    if len(opts.engines) < 2:
        ap.error("--engines needs at least two engines to compare")
    if not os.access(opts.perk, os.X_OK):
        ap.error(f"{opts.perk} is not an executable")
    if opts.case:
        return run_one_case(opts, opts.case)

    started = time.monotonic()
    passed = failed = invalid = 0
    totals = {}
    failures = []
    seeds = range(opts.start, opts.start + opts.seeds)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        for seed, bad, stats in pool.map(lambda s: check_seed(opts, s), seeds):
            for k, v in stats.items():
                totals[k] = totals.get(k, 0) + v
            if bad is None:
                passed += 1
                continue
            failed += 1
            invalid += bad[0] == "invalid"
            failures.append(seed)
            print(f"FAIL {bad[1]}", flush=True)
    elapsed = time.monotonic() - started
    actions = " ".join(f"{k[7:]}={v}" for k, v in sorted(totals.items()) if k.startswith("action:"))
    print(f"difftest: seeds {opts.start}..{opts.start + opts.seeds - 1} with {','.join(opts.engines)} "
          f"in {elapsed:.1f}s; {invalid} invalid programs ({100.0 * invalid / max(1, opts.seeds):.2f}%)")
    print(f"difftest: reference output: {totals.get('ledger', 0)} ledger entries ({actions}), "
          f"{totals.get('rejects', 0)} rejects of which {totals.get('runtime_errors', 0)} runtime errors")
    if failures:
        print("difftest: failing seeds: " + " ".join(str(s) for s in failures[:50]))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
