#!/usr/bin/env python3
"""Runs Perk's own conformance cases (tests/conformance, a copy of the shared suite) and, when
../shared/conformance is beside the checkout, the shared suite too, failing when the two copies
disagree.

Cases listed in tests/conformance_expected_failures.txt are expected to fail until the issue named
beside them is resolved: their failures are counted apart, and a listed case that passes with every
engine is a failure (remove it from the list), so the list only shrinks.

usage: run_conformance.py --perk PATH [--engine jit,interp]
"""
import argparse, filecmp, os, re, subprocess, sys
# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWN = os.path.join(ROOT, "tests", "conformance")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "conformance")
LIST = os.path.join(ROOT, "tests", "conformance_expected_failures.txt")


def expected_failures():
    cases = {}
    with open(LIST, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                parts = line.split(None, 2)
                if len(parts) < 3 or not parts[1].isdigit():
                    sys.exit(f"{LIST}:{n}: want `CASE ISSUE what is missing`")
                cases[parts[0]] = f"issue {parts[1]}: {parts[2]}"
    return cases


def differences(a, b):
    """Files that differ between two copies of the suite, as paths relative to them."""
    out = []
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    todo = [("", cmp)]
    while todo:
        rel, c = todo.pop()
        out += [os.path.join(rel, n) for n in c.left_only + c.right_only + c.funny_files]
        out += [os.path.join(rel, n) for n in c.common_files
                if not filecmp.cmp(os.path.join(c.left, n), os.path.join(c.right, n), shallow=False)]
        todo += [(os.path.join(rel, n), sub) for n, sub in c.subdirs.items()]
    return sorted(out)


def run_suite(label, runner, perk, engine, xfail):
    """Runs one copy of the suite; returns (passed, failed, expected) counted per case and engine."""
    p = subprocess.run([sys.executable, runner, "--perk", perk, "--engine", engine],
                       capture_output=True, text=True)
    results = {}  # case -> [ok?] per run
    for line in p.stdout.splitlines():
        m = re.match(r"^(ok  |FAIL) (\S+)( \[[^\]]*\])?", line)
        if m:
            results.setdefault(m.group(2), []).append(m.group(1) == "ok  ")
    if not results:
        print(f"FAIL {label}: the runner reported no case (exit {p.returncode})\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
        return 0, 1, 0
    passed = failed = expected = 0
    for line in p.stdout.splitlines():
        m = re.match(r"^(ok  |FAIL) (\S+)", line)
        if not m:
            continue
        case = m.group(2)
        if case in xfail and m.group(1) == "FAIL":
            expected += 1
            print(f"xfail {label} {line[5:].splitlines()[0][:160]}  ({xfail[case]})")
        elif m.group(1) == "ok  " and case not in xfail:
            passed += 1
            print(f"ok   {label} {line[5:]}")
        elif m.group(1) == "FAIL":
            failed += 1
            print(f"FAIL {label} {line[5:]}")
    for case, oks in sorted(results.items()):
        if case in xfail and all(oks):
            failed += 1
            print(f"FAIL {label} {case}: passes with every engine but is listed as an expected failure "
                  f"({xfail[case]}); remove it from {os.path.relpath(LIST, ROOT)}")
        elif case in xfail and any(oks):
            passed += sum(oks)  # the engines that pass count; the others are expected failures
    if failed:
        print(f"---- {label} runner output\n{p.stdout[-6000:]}{p.stderr[-2000:]}----")
    return passed, failed, expected


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", required=True)
    ap.add_argument("--engine", default="jit,interp")
    a = ap.parse_args()
    xfail = expected_failures()
    known = {d for d in os.listdir(OWN) if os.path.isfile(os.path.join(OWN, d, "program.perk"))}
    passed = failed = expected = 0
    for case in sorted(set(xfail) - known):
        failed += 1
        print(f"FAIL {os.path.relpath(LIST, ROOT)} names {case}, which tests/conformance does not hold")
    suites = [("own", os.path.join(OWN, "run"))]
    if os.path.isdir(SHARED):
        diff = differences(OWN, SHARED)
        if diff:
            failed += 1
            print(f"FAIL tests/conformance differs from ../shared/conformance in {len(diff)} files "
                  f"(copy the shared suite in): {', '.join(diff[:8])}")
        else:
            passed += 1
            print("ok   tests/conformance is the same as ../shared/conformance")
        suites.append(("shared", os.path.join(SHARED, "run")))
    else:
        print("(no ../shared/conformance beside the checkout: running Perk's own copy only)")
    for label, runner in suites:
        p, f, e = run_suite(label, runner, os.path.abspath(a.perk), a.engine, xfail)
        passed, failed, expected = passed + p, failed + f, expected + e
    print(f"({expected} expected failures, listed in {os.path.relpath(LIST, ROOT)})")
    print(f"conformance: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
