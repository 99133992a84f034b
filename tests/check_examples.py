#!/usr/bin/env python3
"""Runs every examples/*/check.py: independent Python models of each example's key effects,
compared with its expected.jsonl (see tests/examples/perkmodel.py). The golden suite checks
that both engines write expected.jsonl; these checks keep expected.jsonl itself honest when
`run_golden.py --update` rewrites it.

usage: check_examples.py [EXAMPLE_DIR ...]
Prints `ok NAME` / `FAIL NAME`, then `N passed, N failed`; exits 1 on any failure, and when an
example has no check.py.
"""
import os
import subprocess
import sys

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    dirs = sys.argv[1:] or sorted(
        os.path.join(ROOT, "examples", d) for d in os.listdir(os.path.join(ROOT, "examples"))
        if os.path.isfile(os.path.join(ROOT, "examples", d, "program.perk")))
    passed = failed = 0
    for d in dirs:
        name = os.path.basename(os.path.abspath(d))
        script = os.path.join(d, "check.py")
        if not os.path.isfile(script):
            print(f"FAIL {name}: no check.py (every example gets an independent check of its ledger)")
            failed += 1
            continue
        p = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300)
        out = (p.stdout + p.stderr).strip()
        if p.returncode == 0:
            passed += 1
            print(out.splitlines()[-1] if out else f"ok   {name}")
        else:
            failed += 1
            print(out if out.startswith("FAIL") else f"FAIL {name}: exit {p.returncode}\n{out[-3000:]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
