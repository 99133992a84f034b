#!/usr/bin/env python3
"""`perk fmt`'s tests: goldens, the repository's programs, and a generated corpus.

usage: run.py --perk PATH [--seeds N] [--start S] [--engine interp] [--update] [--only PART]

Goldens: each tests/fmt/cases/NAME.perk formats to NAME.expected (`--update` rewrites them).

Round trips, for every program in the repository that parses and for the programs
tests/difftest/gen.py makes for seeds S..S+N-1 (default 0..99):
  - formatting twice changes nothing (idempotent);
  - the program with its indentation dropped and its spaces widened formats the same (one
    layout, whatever the spacing);
  - (repository programs) with comments slipped in between tokens, it still formats,
    idempotently, and own-line comments stay on their own lines;
  - `perk check` gives the same exit status and the same diagnostics (positions aside);
  - `perk dump ast` is identical;
  - where there is a stream (an example's or golden's events.jsonl with its case.json args,
    or the generator's), `perk run` exits the same and writes a byte-identical ledger, and
    the same rejects but for the program positions a runtime error quotes.

Layout: every repository program outside tests/fmt/unformatted.txt passes `perk fmt --check`
(the CI check that the repository is formatted), and `perk fmt --check` on an unformatted
copy exits 1 with a diff.

PART is golden, repo, corpus or layout. Prints `ok NAME` / `FAIL NAME: why`, then
`N passed, N failed`; exits 1 on any failure.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "difftest"))

if "PERK_JIT_CACHE" not in os.environ:
    import atexit
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

passed = 0
failed = 0


def report(name, problem):
    global passed, failed
    if problem:
        failed += 1
        print(f"FAIL {name}: {problem}")
    else:
        passed += 1
        print(f"ok {name}")


def fmt_text(perk, text):
    """(exit status, formatted text, stderr) of `perk fmt -` on text."""
    p = subprocess.run([perk, "fmt", "-"], input=text.encode("utf-8"), capture_output=True)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


POSITION = re.compile(rb"at program line \d+, column \d+")
DIAG = re.compile(r"^\S*?:\d+:\d+: (error|warning): (.*)$")


def check_summary(perk, path):
    """`perk check`'s exit status and its diagnostics without their positions."""
    p = subprocess.run([perk, "check", path], capture_output=True, cwd=os.path.dirname(path))
    lines = p.stderr.decode("utf-8", "replace").splitlines()
    return p.returncode, [m.group(1) + ": " + m.group(2) for m in map(DIAG.match, lines) if m]


def dump_ast(perk, path):
    p = subprocess.run([perk, "dump", "ast", path], capture_output=True)
    return p.returncode, p.stdout


def run_ledger(perk, engine, program, events, args, workdir, tag):
    ledger = os.path.join(workdir, tag + ".ledger.jsonl")
    rejects = os.path.join(workdir, tag + ".rejects.jsonl")
    p = subprocess.run([perk, "run", program, "--events", events, "--ledger", ledger, "--rejects", rejects,
                        "--engine", engine] + list(args), capture_output=True, cwd=os.path.dirname(program))
    out = []
    for path in (ledger, rejects):
        out.append(open(path, "rb").read() if os.path.exists(path) else b"")
    return p.returncode, out[0], out[1]


def respace(text, seed):
    """text with every line's indentation dropped and each space between tokens widened to
    1-3 (strings and comments untouched): the same tokens, comments and blank lines."""
    rng = random.Random(seed)
    out = []
    for line in text.split("\n"):
        line = line.lstrip(" \t")
        chars, in_string, k = [], False, 0
        while k < len(line):
            c = line[k]
            if in_string:
                chars.append(c)
                if c == "\\" and k + 1 < len(line):
                    chars.append(line[k + 1])
                    k += 1
                elif c == '"':
                    in_string = False
            elif c == "#":
                chars.append(line[k:])
                break
            elif c == '"':
                in_string = True
                chars.append(c)
            elif c == " ":
                chars.append(" " * rng.randint(1, 3))
            else:
                chars.append(c)
            k += 1
        out.append("".join(chars))
    return "\n".join(out)


def commented(text, seed):
    """text with comments slipped in at random spaces between tokens: some at the end of a
    line (which then goes on below), some on a line of their own. Lines with strings or
    comments are left alone, so no `#` lands inside a string."""
    rng = random.Random(seed)
    out = []
    for line in text.split("\n"):
        if '"' in line or "#" in line or not line.strip():
            out.append(line)
            continue
        parts = line.split(" ")
        res = parts[0]
        for part in parts[1:]:
            roll = rng.random()
            if roll < 0.1 and res.strip():
                res += f" # note {rng.randint(0, 99)}\n" + part
            elif roll < 0.14 and res.strip():
                res += "\n# own line\n" + part
            else:
                res += " " + part
        out.append(res)
    return "\n".join(out)


def comments_anywhere(perk, text, seed):
    """A problem when the program with comments slipped in does not format, or not stably."""
    noisy = commented(text, seed)
    rc, once, err = fmt_text(perk, noisy)
    if rc == 2:
        return "with comments slipped in, it no longer formats: " + err[-400:]
    if fmt_text(perk, once)[1] != once:
        return "with comments slipped in, formatting is not idempotent"
    if [l.strip() for l in once.splitlines() if "#" in l and '"' not in l].count("# own line") != \
            noisy.count("\n# own line\n"):
        return "with comments slipped in, an own-line comment did not stay on its own line"
    return None


def round_trip(perk, engine, name, text, workdir, events=None, args=()):
    """Checks one program's round trip; returns a problem or None (also None: no parse)."""
    rc, once, err = fmt_text(perk, text)
    if rc == 2:
        return "skip"
    if rc not in (0, 1):
        return f"perk fmt exited {rc}: {err[-400:]}"
    rc2, twice, _ = fmt_text(perk, once)
    if rc2 != 0 or twice != once:
        return "not idempotent: formatting the formatted program changes it again"
    # One layout: where the spaces were does not matter.
    if fmt_text(perk, respace(text, len(text)))[1] != once:
        return "not canonical: the program with other spacing formats differently"
    original = os.path.join(workdir, "original.perk")
    formatted = os.path.join(workdir, "formatted.perk")
    with open(original, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    with open(formatted, "w", encoding="utf-8", newline="") as f:
        f.write(once)
    if check_summary(perk, original) != check_summary(perk, formatted):
        return "`perk check` differs: {} vs {}".format(check_summary(perk, original), check_summary(perk, formatted))
    if dump_ast(perk, original) != dump_ast(perk, formatted):
        return "`perk dump ast` differs"
    if events is not None:
        a = run_ledger(perk, engine, original, events, args, workdir, "original")
        b = run_ledger(perk, engine, formatted, events, args, workdir, "formatted")
        if a[0] != b[0] or a[1] != b[1]:
            return f"`perk run` differs (exit {a[0]} vs {b[0]}; ledgers {len(a[1])} vs {len(b[1])} bytes)"
        # A runtime error names the program line and column it happened at, which moved.
        if POSITION.sub(b"at program line L, column C", a[2]) != POSITION.sub(b"at program line L, column C", b[2]):
            return "`perk run` rejects differ (beyond the program positions they quote)"
    return None


def repository_programs():
    out = subprocess.run(["git", "ls-files", "*.perk"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return sorted(p for p in out if os.path.exists(os.path.join(ROOT, p)))


def unformatted_rules():
    rules = []
    with open(os.path.join(HERE, "unformatted.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                rules.append(line)
    return rules


def excluded(path, rules):
    return any(path.startswith(r) if r.endswith("/") else path == r for r in rules)


def golden(perk, update):
    cases = sorted(f for f in os.listdir(os.path.join(HERE, "cases")) if f.endswith(".perk"))
    for case in cases:
        path = os.path.join(HERE, "cases", case)
        expected_path = path[:-len(".perk")] + ".expected"
        text = open(path, encoding="utf-8").read()
        rc, out, err = fmt_text(perk, text)
        if rc == 2:
            out = "perk fmt: does not parse\n" + re.sub(r"<stdin>", "INPUT", err)
        if update:
            with open(expected_path, "w", encoding="utf-8", newline="") as f:
                f.write(out)
        expected = open(expected_path, encoding="utf-8").read() if os.path.exists(expected_path) else None
        if expected is None:
            report("golden " + case, "no .expected (run with --update and review it)")
        elif out != expected:
            report("golden " + case, "output differs from .expected:\n" + out)
        elif rc != 2 and fmt_text(perk, out)[1] != out:
            report("golden " + case, "the expected layout is not stable")
        else:
            report("golden " + case, None)


def repo(perk, engine, workdir):
    for rel in repository_programs():
        path = os.path.join(ROOT, rel)
        folder = os.path.dirname(path)
        events, args = None, []
        if os.path.basename(rel) == "program.perk" and os.path.exists(os.path.join(folder, "events.jsonl")):
            events = os.path.join(folder, "events.jsonl")
            meta = os.path.join(folder, "case.json")
            if os.path.exists(meta):
                args = json.load(open(meta, encoding="utf-8")).get("args", [])
        text = open(path, encoding="utf-8", errors="surrogateescape").read()
        problem = round_trip(perk, engine, rel, text, workdir, events, args)
        if problem is None:
            problem = comments_anywhere(perk, text, len(rel))
        if problem == "skip":
            if not rel.startswith(("tests/diagnostics/", "tests/fmt/cases/fail_")):
                report("repo " + rel, "does not parse, and only tests/diagnostics and tests/fmt/cases/fail_* "
                       "may hold such programs")
            continue
        report("repo " + rel + (" (ledger)" if events else ""), problem)


def corpus(perk, engine, workdir, start, seeds):
    import gen
    for seed in range(start, start + seeds):
        program, stream, args = gen.generate(seed)
        events = os.path.join(workdir, "events.jsonl")
        with open(events, "w", encoding="utf-8", newline="") as f:
            f.write(stream)
        problem = round_trip(perk, engine, f"seed {seed}", program, workdir, events, args)
        report(f"corpus seed {seed}", "the generated program does not parse" if problem == "skip" else problem)


def layout(perk, workdir):
    rules = unformatted_rules()
    for rel in repository_programs():
        if excluded(rel, rules):
            continue
        p = subprocess.run([perk, "fmt", "--check", rel], cwd=ROOT, capture_output=True, text=True)
        report("formatted " + rel, None if p.returncode == 0 else
               f"not in the canonical layout (run `perk fmt {rel}`):\n{p.stdout[:2000]}{p.stderr[:400]}")
    # --check on a file that is not formatted: exit 1, a diff, and the file unchanged.
    messy = os.path.join(workdir, "messy.perk")
    text = 'program "p"\nevent e {a: int}\nrule r on e then credit w 1 end\nwallet w: int\n'
    with open(messy, "w", encoding="utf-8") as f:
        f.write(text)
    p = subprocess.run([perk, "fmt", "--check", messy], capture_output=True, text=True)
    unchanged = open(messy, encoding="utf-8").read() == text
    ok = p.returncode == 1 and "+event e { a: int }" in p.stdout and "-event e {a: int}" in p.stdout and unchanged
    report("--check reports an unformatted file", None if ok else f"exit {p.returncode}, output:\n{p.stdout}")
    # Without --check the file is rewritten in place, and then passes --check.
    p = subprocess.run([perk, "fmt", messy], capture_output=True, text=True)
    q = subprocess.run([perk, "fmt", "--check", messy], capture_output=True, text=True)
    ok = p.returncode == 0 and q.returncode == 0 and open(messy, encoding="utf-8").read() != text
    report("fmt rewrites in place", None if ok else f"exit {p.returncode}/{q.returncode}")
    # A program that does not parse is left alone: exit 2 and the errors.
    with open(messy, "w", encoding="utf-8") as f:
        f.write('program "p"\nevent e {\n')
    p = subprocess.run([perk, "fmt", messy], capture_output=True, text=True)
    ok = p.returncode == 2 and "error:" in p.stderr and open(messy, encoding="utf-8").read() == 'program "p"\nevent e {\n'
    report("fmt refuses a program that does not parse", None if ok else f"exit {p.returncode}: {p.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perk", required=True)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--engine", default="interp")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--only", choices=["golden", "repo", "corpus", "layout"])
    args = ap.parse_args()
    perk = os.path.abspath(args.perk)
    workdir = tempfile.mkdtemp(prefix="perk-fmt-test-")
    try:
        if args.only in (None, "golden"):
            golden(perk, args.update)
        if args.only in (None, "layout"):
            layout(perk, workdir)
        if args.only in (None, "repo"):
            repo(perk, args.engine, workdir)
        if args.only in (None, "corpus"):
            corpus(perk, args.engine, workdir, args.start, args.seeds)
    finally:
        shutil.rmtree(workdir, True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
