#!/usr/bin/env python3
"""Command-line refusals of `perk run`, `perk diff` and `perk serve` that protect the user's files.

usage: test_cli.py --perk build/perk

Each case runs perk in a fresh directory and checks its exit status, that stderr names the
problem, and that the files it was given are unchanged (a refused run must lose nothing).
Prints `N passed, N failed`; exits 1 on any failure.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

PROGRAM = """program "P"
currency USD
event deposit { amount: money }
wallet bonus: money
rule r on deposit then credit bonus deposit.amount end
"""
EVENTS = '{"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"10.00"}\n'


def run_case(perk, name, args, expect_exit, expect_stderr, setup=None):
    """Runs `perk ARGS` in a fresh directory holding p.perk and e.jsonl; returns an error or None."""
    work = tempfile.mkdtemp(prefix="perk_cli_")
    try:
        with open(os.path.join(work, "p.perk"), "w") as f:
            f.write(PROGRAM)
        with open(os.path.join(work, "e.jsonl"), "w") as f:
            f.write(EVENTS)
        if setup:
            setup(work)
        before = {n: open(os.path.join(work, n), "rb").read() for n in os.listdir(work)
                  if os.path.isfile(os.path.join(work, n))}
        p = subprocess.run([perk] + args, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != expect_exit:
            return f"exit {p.returncode}, expected {expect_exit}; stderr: {p.stderr.strip()}"
        if expect_stderr not in p.stderr:
            return f"stderr lacks {expect_stderr!r}: {p.stderr.strip()}"
        if expect_exit != 0:
            for n, data in before.items():
                path = os.path.join(work, n)
                if not os.path.isfile(path) or open(path, "rb").read() != data:
                    return f"{n} changed although the run was refused"
        return None
    finally:
        shutil.rmtree(work)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", required=True)
    args = ap.parse_args()
    perk = os.path.abspath(args.perk)

    def symlink(work):
        os.symlink("e.jsonl", os.path.join(work, "link.jsonl"))

    def subdir(work):
        os.mkdir(os.path.join(work, "sub"))

    same = "name the same file"
    cases = [
        ("ledger over the input", ["run", "p.perk", "--events", "e.jsonl", "--ledger", "e.jsonl"], 2, same, None),
        ("rejects over the input", ["run", "p.perk", "--events", "e.jsonl", "--rejects", "e.jsonl"], 2, same, None),
        ("ledger over the program", ["run", "p.perk", "--events", "e.jsonl", "--ledger", "p.perk"], 2, same, None),
        ("rejects over the input through a symlink",
         ["run", "p.perk", "--events", "link.jsonl", "--rejects", "e.jsonl"], 2, same, symlink),
        ("ledger and rejects one new file spelled two ways",
         ["run", "p.perk", "--events", "e.jsonl", "--ledger", "out.jsonl", "--rejects", "sub/../out.jsonl"], 2, same,
         subdir),
        ("ledger and rejects one file with --state",
         ["run", "p.perk", "--events", "e.jsonl", "--ledger", "x.jsonl", "--rejects", "x.jsonl", "--state", "s.db"], 2,
         same, None),
        ("state over the ledger",
         ["run", "p.perk", "--events", "e.jsonl", "--ledger", "x.jsonl", "--rejects", "r.jsonl", "--state", "x.jsonl"],
         2, same, None),
        ("report over the input", ["run", "p.perk", "--events", "e.jsonl", "--ledger", "l.jsonl", "--report", "e.jsonl"],
         2, same, None),
        ("diff report over the input", ["diff", "p.perk", "p.perk", "--events", "e.jsonl", "--report", "e.jsonl"], 2,
         same, None),
        ("serve with ledger and rejects one file",
         ["serve", "p.perk", "--state", "s.db", "--ledger", "x.jsonl", "--rejects", "x.jsonl", "--insecure-no-auth",
          "--listen", "127.0.0.1:0"], 2, same, None),
        # Devices may be shared: discarding both outputs is a normal thing to ask.
        ("ledger and rejects both /dev/null",
         ["run", "p.perk", "--events", "e.jsonl", "--ledger", "/dev/null", "--rejects", "/dev/null"], 0, "1 records",
         None),
        # --stats: what the day ticks did, also with --state (no day passes here: no tick).
        ("stats", ["run", "p.perk", "--events", "e.jsonl", "--ledger", "/dev/null", "--stats"], 0,
         "day ticks: 0 ticks, 0 client visits (0.0 per tick), 1 known clients", None),
        ("stats with --state",
         ["run", "p.perk", "--events", "e.jsonl", "--ledger", "l.jsonl", "--rejects", "r.jsonl", "--state", "s.db",
          "--stats"], 0, "day ticks: 0 ticks", None),
        # Reading the same file twice writes nothing.
        ("program read as events too", ["run", "p.perk", "--events", "p.perk", "--ledger", "l.jsonl"], 0, "rejects",
         None),
    ]
    passed = failed = 0
    for name, argv, code, err, setup in cases:
        problem = run_case(perk, name, argv, code, err, setup)
        if problem:
            failed += 1
            print(f"FAIL {name}: {problem}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
