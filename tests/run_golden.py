#!/usr/bin/env python3
"""Perk's golden tests: program runs with expected ledgers, and `perk check` diagnostics.

usage: run_golden.py --perk PATH [--engine interp[,jit]] [--update] [--no-coverage] [DIR_OR_FILE ...]

Run cases: every folder under tests/golden/ and examples/ holding program.perk,
events.jsonl and expected.jsonl. Each is run with `perk run` like a conformance
case (case.json may give `args`, `rejected_lines`, or `check_fails` with
`error_lines`), but the ledger is compared exactly, as text, line by line,
`seq` included. When expected_rejects.jsonl is present the rejects output is
compared to it the same way; otherwise the rejected line numbers must equal
case.json's `rejected_lines` (default none) and every reject needs an `error`.

Diagnostics: every tests/diagnostics/*.perk is checked with
`perk check tests/diagnostics/NAME.perk` from the repository root; its stderr
must equal NAME.expected (no file: no output), and its exit code NAME.exit when present, else 1 for
names starting with `fail_` and 0 for the rest.

Coverage: every code in compiler/diagnostic_kinds.def must appear as `[CODE]`
in some tests/diagnostics/*.expected; the missing ones are one failure named
`diagnostics-coverage`. It runs only when no DIR is given.

--update rewrites expected.jsonl, expected_rejects.jsonl (when present),
case.json's rejected_lines and the diagnostics' .expected files from the
actual output, printing each file it changes; with --update a case folder
without expected.jsonl is run and gets one.

Arguments narrow the run to those case folders, folders of cases, diagnostics
folders or diagnostics .perk files. Prints `ok NAME` / `FAIL NAME` (with a
unified diff of at most 40 lines), then `N passed, N failed`; exits 1 on any
failure.
"""
import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_DIRS = [os.path.join(ROOT, "tests", "golden"), os.path.join(ROOT, "examples")]
DIAG_DIR = os.path.join(ROOT, "tests", "diagnostics")
DIAG_DEF = os.path.join(ROOT, "compiler", "diagnostic_kinds.def")
DIFF_LINES = 40
RUN_TIMEOUT = 300
CHECK_TIMEOUT = 60


def rel(path):
    """A path relative to the repository root when it lies inside it."""
    r = os.path.relpath(os.path.abspath(path), ROOT)
    return path if r.startswith("..") else r


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return f.read()


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def diff(expected, actual, expected_name, actual_name="actual"):
    lines = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                      expected_name, actual_name, lineterm=""))
    if len(lines) > DIFF_LINES:
        lines = lines[:DIFF_LINES] + [f"... ({len(lines) - DIFF_LINES} more diff lines)"]
    return "\n".join(lines)


def is_case(d, update):
    has = lambda f: os.path.isfile(os.path.join(d, f))
    if not has("program.perk"):
        return False
    if has("case.json"):
        try:
            with open(os.path.join(d, "case.json"), encoding="utf-8") as f:
                if json.load(f).get("check_fails"):
                    return True
        except (OSError, ValueError):
            return True  # let run_case report the broken case.json
    return has("events.jsonl") and (has("expected.jsonl") or update)


def find_cases(top, update):
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        if is_case(dirpath, update):
            found.append(dirpath)
        elif "program.perk" in filenames and "events.jsonl" in filenames:
            print(f"skip {rel(dirpath)} (no expected.jsonl; --update writes it)")
    return found


def load_spec(case):
    meta = os.path.join(case, "case.json")
    if not os.path.isfile(meta):
        return {}
    with open(meta, encoding="utf-8") as f:
        spec = json.load(f)
    if not isinstance(spec, dict):
        raise ValueError(f"{rel(meta)}: not a JSON object")
    return spec


def parse_rejects(text, path):
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not JSON: {e}: {line[:200]}")
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{n}: not a JSON object: {line[:200]}")
        rows.append(row)
    return rows


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name):
        self.passed += 1
        print(f"ok   {name}", flush=True)

    def fail(self, name, why):
        self.failed += 1
        print(f"FAIL {name}: {why}", flush=True)


def check_only_case(perk, case, spec):
    prog = os.path.join(rel(case), "program.perk")
    p = subprocess.run([perk, "check", prog], capture_output=True, text=True,
                       errors="replace", timeout=CHECK_TIMEOUT, cwd=ROOT)
    if p.returncode != 1:
        return f"perk check exited {p.returncode}, expected 1\n{p.stderr[-2000:]}".rstrip()
    missing = [n for n in spec.get("error_lines", [])
               if not re.search(rf"program\.perk:{n}:\d+:\s*error", p.stderr)]
    if missing:
        return f"no 'program.perk:LINE:COL: error' diagnostic for lines {missing}\n{p.stderr[-2000:]}"
    return None


def run_case(perk, case, spec, engine, update, may_write):
    """Runs one case with one engine; returns an error message or None."""
    expected_path = os.path.join(case, "expected.jsonl")
    rejects_path = os.path.join(case, "expected_rejects.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        ledger, rejects = os.path.join(tmp, "ledger.jsonl"), os.path.join(tmp, "rejects.jsonl")
        args = spec.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            return "case.json: `args` must be a list of strings"
        cmd = [perk, "run", os.path.join(case, "program.perk"),
               "--events", os.path.join(case, "events.jsonl"),
               "--ledger", ledger, "--rejects", rejects, "--engine", engine] + args
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                           timeout=RUN_TIMEOUT, cwd=ROOT)
        if p.returncode != 0:
            return f"exit {p.returncode}: {' '.join(cmd)}\n{p.stderr[-2000:]}".rstrip()
        got = read_text(ledger)
        got_rejects = read_text(rejects)

    errors = []
    want = read_text(expected_path)
    if got.splitlines() != want.splitlines() or not os.path.exists(expected_path):
        if update and may_write:
            write_text(expected_path, got)
            print(f"updated {rel(expected_path)}")
        else:
            errors.append("ledger differs\n" + diff(want, got, rel(expected_path)))

    try:
        rej_rows = parse_rejects(got_rejects, "rejects output")
    except ValueError as e:
        return str(e)
    bad = [r for r in rej_rows if not str(r.get("error", "")).strip()]
    if bad:
        errors.append(f"reject without an error message: {json.dumps(bad[0], ensure_ascii=False)}")

    if os.path.exists(rejects_path):
        want_rej = read_text(rejects_path)
        if got_rejects.splitlines() != want_rej.splitlines():
            if update and may_write:
                write_text(rejects_path, got_rejects)
                print(f"updated {rel(rejects_path)}")
            else:
                errors.append("rejects differ\n" + diff(want_rej, got_rejects, rel(rejects_path)))
    else:
        lines = [r.get("line") for r in rej_rows]
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in lines):
            return f"a reject without an integer `line`\n{got_rejects[-2000:]}"
        lines.sort()
        want_lines = spec.get("rejected_lines", [])
        if lines != sorted(want_lines):
            if update and may_write:
                meta = os.path.join(case, "case.json")
                new_spec = dict(spec)
                new_spec["rejected_lines"] = lines
                write_text(meta, json.dumps(new_spec, ensure_ascii=False) + "\n")
                print(f"updated {rel(meta)} (rejected_lines {lines})")
            else:
                errors.append(f"rejected lines {lines}, expected {sorted(want_lines)}"
                              + (f"\n{got_rejects[-2000:]}" if got_rejects else ""))
    return "\n".join(errors) or None


def run_cases(perk, cases, engines, update, results):
    for case in cases:
        name = rel(case)
        try:
            spec = load_spec(case)
        except (OSError, ValueError) as e:
            results.fail(name, f"bad case.json: {e}")
            continue
        if spec.get("check_fails"):
            try:
                err = check_only_case(perk, case, spec)
            except (OSError, subprocess.TimeoutExpired) as e:
                err = f"could not run: {e}"
            (results.fail(name, err) if err else results.ok(name))
            continue
        for i, engine in enumerate(engines):
            label = f"{name} [{engine}]"
            try:
                err = run_case(perk, case, spec, engine, update, may_write=(i == 0))
            except (OSError, subprocess.TimeoutExpired) as e:
                err = f"could not run: {e}"
            (results.fail(label, err) if err else results.ok(label))


def expected_exit(perk_file):
    exit_file = perk_file[:-len(".perk")] + ".exit"
    if os.path.isfile(exit_file):
        text = read_text(exit_file).strip()
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{rel(exit_file)}: not an exit code: {text!r}")
    return 1 if os.path.basename(perk_file).startswith("fail_") else 0


def run_diagnostics(perk, files, update, results):
    for f in files:
        name = rel(f)
        expected_path = f[:-len(".perk")] + ".expected"
        try:
            want_exit = expected_exit(f)
            p = subprocess.run([perk, "check", name], capture_output=True, text=True,
                               errors="replace", timeout=CHECK_TIMEOUT, cwd=ROOT)
        except (OSError, ValueError, subprocess.TimeoutExpired) as e:
            results.fail(name, f"could not run: {e}")
            continue
        errors = []
        if p.returncode != want_exit:
            errors.append(f"perk check exited {p.returncode}, expected {want_exit}")
        want = read_text(expected_path)
        # A missing .expected stands for no output at all.
        if p.stderr.splitlines() != want.splitlines():
            if update:
                write_text(expected_path, p.stderr)
                print(f"updated {rel(expected_path)}")
            elif not os.path.exists(expected_path):
                errors.append(f"no {rel(expected_path)} (--update writes it); perk check printed:\n"
                              + "\n".join(p.stderr.splitlines()[:DIFF_LINES]))
            else:
                errors.append("diagnostics differ\n" + diff(want, p.stderr, rel(expected_path)))
        (results.fail(name, "\n".join(errors)) if errors else results.ok(name))


def check_coverage(results):
    if not os.path.isfile(DIAG_DEF):
        return
    codes = []
    with open(DIAG_DEF, encoding="utf-8") as f:
        for line in f:
            m = re.match(r'\s*PERK_DIAG\(\s*(\w+)\s*,\s*(\w+)\s*,\s*"([^"]+)"', line)
            if m:
                codes.append((m.group(3), m.group(1)))
    seen = set()
    if os.path.isdir(DIAG_DIR):
        for fn in os.listdir(DIAG_DIR):
            if fn.endswith(".expected"):
                seen.update(re.findall(r"\[([A-Z]\d{4})\]", read_text(os.path.join(DIAG_DIR, fn))))
    missing = [f"{code} ({name})" for code, name in codes if code not in seen]
    if missing:
        results.fail("diagnostics-coverage",
                     f"{len(missing)} of {len(codes)} diagnostic codes have no test in "
                     f"tests/diagnostics/*.expected: " + ", ".join(missing))
    else:
        results.ok(f"diagnostics-coverage ({len(codes)} codes)")


def diag_files_in(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".perk"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perk", default=os.environ.get("PERK", os.path.join(ROOT, "build", "perk")))
    ap.add_argument("--engine", default="interp", help="comma-separated engines, e.g. jit,interp")
    ap.add_argument("--update", action="store_true", help="rewrite expectations from actual output")
    ap.add_argument("--no-coverage", action="store_true", help="skip the diagnostics coverage check")
    ap.add_argument("paths", nargs="*", metavar="DIR")
    a = ap.parse_args()

    perk = os.path.abspath(a.perk)
    if not os.access(perk, os.X_OK):
        print(f"run_golden: {perk} is not an executable; build it first (scripts/build)")
        print("0 passed, 1 failed")
        return 1
    engines = [e for e in a.engine.split(",") if e]

    cases, diags = [], []
    if a.paths:
        for p in a.paths:
            p = os.path.abspath(p)
            if os.path.isfile(p) and p.endswith(".perk"):
                diags.append(p)
            elif os.path.isdir(p) and is_case(p, a.update):
                cases.append(p)
            elif os.path.isdir(p):
                cases += find_cases(p, a.update)
                # A folder holding tests/diagnostics (or that folder itself) brings its checks along.
                if os.path.isdir(DIAG_DIR) and (DIAG_DIR + os.sep).startswith(p.rstrip(os.sep) + os.sep):
                    diags += diag_files_in(DIAG_DIR)
            else:
                print(f"run_golden: {p}: not a case folder or .perk file")
                print("0 passed, 1 failed")
                return 1
    else:
        for d in GOLDEN_DIRS:
            if os.path.isdir(d):
                cases += find_cases(d, a.update)
        if os.path.isdir(DIAG_DIR):
            diags = diag_files_in(DIAG_DIR)

    results = Results()
    run_cases(perk, cases, engines, a.update, results)
    run_diagnostics(perk, diags, a.update, results)
    if not a.paths and not a.no_coverage:
        check_coverage(results)
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
