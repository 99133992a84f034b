#!/usr/bin/env python3
"""Golden tests of `perk analyze`, its silence on the examples, and its witnesses run for real.

usage: run.py --perk PATH [--update] [--engine interp|jit]

1. Each tests/analyze/NAME.perk is analyzed (`perk analyze tests/analyze/NAME.perk --witness
   DIR`) and the report compared with NAME.expected (`--update` rewrites them; review the diff).
2. Each examples/*/program.perk is analyzed: every finding's code must be one the example's
   README accepts on purpose (its codes under a heading that names `perk analyze`).
3. Every witness written in 1 and 2 is run with `perk run` on its program: no record may be
   rejected, and the ledger must hold each claimed entry (and none claimed absent).

Prints `N passed, N failed` as its last line; exits 1 on any failure.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

if "PERK_JIT_CACHE" not in os.environ:
    import atexit
    import shutil
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)


def analyze(perk, program, witness_dir, json_out=False):
    cmd = [perk, "analyze", program, "--witness", witness_dir] + (["--json"] if json_out else [])
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def accepted_codes(readme):
    """Codes listed under a README heading that names `perk analyze`."""
    if not os.path.exists(readme):
        return set()
    codes, inside = set(), False
    for line in open(readme, encoding="utf-8"):
        if line.startswith("#"):
            inside = "perk analyze" in line
        elif inside:
            codes.update(re.findall(r"\bA\d{4}\b", line))
    return codes


def matches(entry, claim):
    for key in ("rule", "action", "wallet", "amount"):
        if claim[key] and str(entry.get(key)) != claim[key]:
            return False
    return True


def run_witnesses(perk, engine, directory):
    """(passed, failures) for the witnesses in one --witness directory."""
    run = json.load(open(os.path.join(directory, "run.json"), encoding="utf-8"))
    passed, failures = 0, []
    for stream in sorted(glob.glob(os.path.join(directory, "*.jsonl"))):
        name = os.path.basename(stream)[:-len(".jsonl")]
        claims = json.load(open(os.path.join(directory, name + ".claims.json"), encoding="utf-8"))
        cmd = [perk, "run", run["program"], "--events", stream, "--engine", engine]
        for p in run["params"]:
            cmd += ["--param", p]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        ledger = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        rejects = [l for l in r.stderr.splitlines() if l.startswith("{")]
        problems = []
        if r.returncode != 0:
            problems.append(f"perk run exited {r.returncode}: {r.stderr.strip()}")
        if rejects:
            problems.append(f"records rejected: {rejects}")
        if not claims["claims"]:
            problems.append("the witness claims nothing")
        for c in claims["claims"]:
            found = any(matches(e, c) for e in ledger)
            if found != c["present"]:
                problems.append(f"{'missing' if c['present'] else 'unexpected'} entry {c}")
        label = f"witness {os.path.relpath(stream, directory)} of {os.path.relpath(run['program'], ROOT)}"
        if problems:
            failures.append(f"{label} ({claims['about']}): " + "; ".join(problems))
        else:
            passed += 1
    return passed, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perk", required=True)
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--engine", default="interp")
    a = ap.parse_args()
    perk = os.path.abspath(a.perk)
    passed, failures = 0, []
    work = tempfile.mkdtemp(prefix="perk-analyze-test-")
    witness_dirs = []

    for program in sorted(glob.glob(os.path.join(HERE, "*.perk"))):
        name = os.path.basename(program)[:-len(".perk")]
        rel = os.path.relpath(program, ROOT)
        wdir = os.path.join(work, "golden-" + name)
        r = analyze(perk, rel, wdir)
        expected_path = program[:-len(".perk")] + ".expected"
        got = r.stdout + (f"exit {r.returncode}\n" if r.returncode else "") + r.stderr
        if a.update:
            with open(expected_path, "w", encoding="utf-8") as f:
                f.write(got)
        expected = open(expected_path, encoding="utf-8").read() if os.path.exists(expected_path) else None
        if got != expected:
            failures.append(f"golden {rel}: the report differs from {os.path.relpath(expected_path, ROOT)}:\n{got}")
        else:
            passed += 1
        if os.path.exists(os.path.join(wdir, "run.json")):
            witness_dirs.append(wdir)

    for program in sorted(glob.glob(os.path.join(ROOT, "examples", "*", "program.perk"))):
        example = os.path.basename(os.path.dirname(program))
        rel = os.path.relpath(program, ROOT)
        wdir = os.path.join(work, "example-" + example)
        r = analyze(perk, rel, wdir, json_out=True)
        if r.returncode != 0:
            failures.append(f"example {rel}: perk analyze exited {r.returncode}: {r.stderr}")
            continue
        report = json.loads(r.stdout)
        accepted = accepted_codes(os.path.join(os.path.dirname(program), "README.md"))
        unaccepted = [f for f in report["findings"] if f["code"] not in accepted]
        if unaccepted:
            failures.append(f"example {rel}: findings its README does not accept: " +
                            "; ".join(f"{f['line']}:{f['column']} [{f['code']}] {f['message']}" for f in unaccepted))
        else:
            passed += 1
        witness_dirs.append(wdir)

    # Every finding kind has a golden test producing it and a line in docs/analyze.md (the solver's
    # "unknown" aside: no golden can make it time out on purpose).
    kinds = re.findall(r'PERK_FINDING\((\w+), "(A\d{4})"', open(os.path.join(ROOT, "analyze", "finding_kinds.def")).read())
    goldens = "".join(open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(HERE, "*.expected")))
    docs = open(os.path.join(ROOT, "docs", "analyze.md"), encoding="utf-8").read()
    for name, code in kinds:
        if code != "A0901" and f"[{code}]" not in goldens:
            failures.append(f"coverage: no golden in tests/analyze/ reports {code} ({name})")
        elif f"| {code} | {name} |" not in docs:
            failures.append(f"coverage: docs/analyze.md has no table row for {code} ({name})")
        else:
            passed += 1

    # `perk check --analyze` is `perk check` then the analysis.
    r = subprocess.run([perk, "check", "tests/analyze/never_fires.perk", "--analyze"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    if r.returncode == 0 and "never_fires.perk: ok (" in r.stdout and "[A0001]" in r.stdout:
        passed += 1
    else:
        failures.append(f"perk check --analyze: exit {r.returncode}, output:\n{r.stdout}{r.stderr}")

    witnesses = 0
    for wdir in witness_dirs:
        p, f = run_witnesses(perk, a.engine, wdir)
        passed += p
        witnesses += p + len(f)
        failures += f

    for f in failures:
        print("FAIL", f)
    print(f"{witnesses} witnesses run")
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
