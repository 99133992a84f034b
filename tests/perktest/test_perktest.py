#!/usr/bin/env python3
"""`perk test` end to end: a deliberately broken rule makes its example's scenario fail with a
readable diff and the rule's explanation; every expectation kind passes when it holds and fails
with its own message when it does not; scenario-file errors carry line:column; unexpected
rejects fail; `--junit` writes valid JUnit XML; folders are searched; exit codes.

usage: test_perktest.py --perk PATH
"""
import argparse, os, re, shutil, subprocess, sys, tempfile
import xml.etree.ElementTree as ET

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PERK = None
RESULTS = []  # (name, problems)


def perk_test(*args, cwd=None):
    env = dict(os.environ, NO_COLOR="1")
    p = subprocess.run([PERK, "test", *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    return p.returncode, p.stdout, p.stderr


def statuses(out):
    """{scenario name: "ok" | "FAILED"} from the one-line-per-scenario report."""
    found = {}
    for m in re.finditer(r"^test (\S+?):(\d+) (.*) \.\.\. (ok|FAILED)$", out, re.M):
        found[m.group(3)] = m.group(4)
    return found


def case(name):
    def wrap(f):
        def run():
            problems = []
            try:
                f(problems)
            except Exception as e:  # a crash of the test itself is a failure of the case
                problems.append(f"{type(e).__name__}: {e}")
            RESULTS.append((name, problems))
        CASES.append(run)
        return f
    return wrap


CASES = []


def expect_in(problems, text, *parts):
    for part in parts:
        if part not in text:
            problems.append(f"missing {part!r}")


def broken_example(edit):
    """A copy of examples/forex_welcome with `edit` applied to its program."""
    d = tempfile.mkdtemp(prefix="perktest-")
    dst = os.path.join(d, "forex_welcome")
    shutil.copytree(os.path.join(ROOT, "examples", "forex_welcome"), dst)
    path = os.path.join(dst, "program.perk")
    with open(path) as f:
        src = f.read()
    new = edit(src)
    assert new != src, "the edit changed nothing"
    with open(path, "w") as f:
        f.write(new)
    return d, dst


@case("the example's scenarios pass as written")
def _(problems):
    code, out, err = perk_test(os.path.join(ROOT, "examples", "forex_welcome"))
    if code != 0:
        problems.append(f"exit {code}: {out}{err}")
    expect_in(problems, out, "test result: ok", "each with interp and jit")
    if "0 failed" not in out.splitlines()[-1]:
        problems.append("last line: " + out.splitlines()[-1])


@case("a broken `when` fails with a diff and the rule's explanation")
def _(problems):
    d, dst = broken_example(lambda s: s.replace("deposit.amount >= min_first_deposit and", "deposit.amount > 300 USD and", 1))
    try:
        code, out, _ = perk_test(dst)
        if code != 1:
            problems.append(f"exit {code}, expected 1")
        st = statuses(out)
        if st.get("a first deposit pays 30%") != "FAILED":
            problems.append(f"scenario not failed: {st}")
        if st.get("the welcome bonus is capped at 500 USD") != "ok":
            problems.append("an unaffected scenario failed")
        expect_in(problems, out,
                  "line 8: expected entry not written: credit bonus 75.00 to c1 by welcome",
                  "    - credit bonus 75.00 to c1 by welcome    (line 8)",
                  "why (`:explain` of the reference interpreter):",
                  'rule welcome "First deposit bonus" on deposit (line7), client c1',
                  "when -> false",
                  "deposit.amount > 300 USD  = false",
                  "not run: `when` does not hold",
                  "test result: FAILED")
        if not re.search(r"^\d+ passed, [1-9]\d* failed$", out.splitlines()[-1]):
            problems.append("last line: " + out.splitlines()[-1])
    finally:
        shutil.rmtree(d)


@case("a broken amount shows what was written instead")
def _(problems):
    d, dst = broken_example(lambda s: s.replace("param welcome_rate = 30%", "param welcome_rate = 25%"))
    try:
        code, out, _ = perk_test(dst)
        if code != 1:
            problems.append(f"exit {code}, expected 1")
        expect_in(problems, out,
                  "    - credit bonus 75.00 to c1 by welcome    (line 8)",
                  "    + credit bonus +62.50 -> 62.50 to c1 by welcome    (line 7)",
                  "      notify welcome_bonus",
                  "line 10: client c1 balance bonus: expected 75.00, found 62.50 USD")
    finally:
        shutil.rmtree(d)


def mutants(src):
    """(line, mutated source) for each one-line credit of `src`, its amount doubled; with none,
    the first notify or emit renamed."""
    lines = src.split("\n")
    found = []
    for i, l in enumerate(lines):
        m = re.match(r"^(\s+(?:then\s+)?credit\s+\w+\s+)(.+?)(\s+end)?$", l)
        if m and m.group(2).count("(") == m.group(2).count(")") and " pending " not in m.group(2):
            new = lines[:]
            new[i] = f"{m.group(1)}({m.group(2)}) * 2{m.group(3) or ''}"
            found.append((i + 1, "\n".join(new)))
    if not found:
        for i, l in enumerate(lines):
            if re.search(r'\b(notify|emit) "\w+"', l):
                new = lines[:]
                new[i] = re.sub(r'\b(notify|emit) "(\w+)"', r'\1 "\2_mutated"', l, count=1)
                found.append((i + 1, "\n".join(new)))
                break
    return found


@case("every example's scenarios catch each doubled credit (or a renamed notice)")
def _(problems):
    total = 0
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        src_dir = os.path.join(ROOT, "examples", name)
        if not os.path.isdir(src_dir):
            continue
        if not os.path.exists(os.path.join(src_dir, "tests.perktest")):
            problems.append(f"{name}: no tests.perktest")
            continue
        prog = next(f for f in sorted(os.listdir(src_dir)) if f.endswith(".perk"))
        with open(os.path.join(src_dir, prog)) as f:
            found = mutants(f.read())
        if not found:
            problems.append(f"{name}: nothing to mutate")
        d = tempfile.mkdtemp(prefix="perktest-")
        try:
            dst = os.path.join(d, name)
            shutil.copytree(src_dir, dst, ignore=shutil.ignore_patterns("*.jsonl"))
            for line, text in found:
                total += 1
                with open(os.path.join(dst, prog), "w") as f:
                    f.write(text)
                code, out, _ = perk_test(dst)
                if code != 1:
                    problems.append(f"{name}: the mutant of {prog}:{line} survived (exit {code})")
        finally:
            shutil.rmtree(d)
    if total < 50:
        problems.append(f"only {total} mutants")


PROGRAM = """program "T"
currency USD
event deposit { amount: money, first: bool = false }
event spend { points: int }
wallet bonus: money
wallet points: int
var deposits: int = 0
tier Base
tier Gold when sum(deposit.amount within 30 days) >= 1_000 USD
segment big when sum(deposit.amount within 30 days) >= 500 USD
rule welcome "First deposit" on deposit when deposit.first limit once per client
  then credit bonus deposit.amount * 10%
end
rule counter on deposit then set deposits = deposits + 1 credit points 10 end
rule spending on spend then debit points spend.points notify "spent" { points: spend.points } end
"""

# (scenario name, body, passes?, text its failure must show)
KINDS = [
    ("effect holds", "expect credit bonus 25.00 to c1 by welcome", True, None),
    ("effect amount differs", "expect credit bonus 25.01 to c1 by welcome", False,
     "expected entry not written: credit bonus 25.01 to c1 by welcome"),
    ("effect with wildcards", "expect credit\n  expect credit points\n  expect set deposits 1", True, None),
    ("two expectations need two entries", "expect credit points 10\n  expect credit points 10", False,
     "expected entry not written: credit points 10"),
    ("no effect holds", "expect no debit\n  expect no credit to c2", True, None),
    ("no effect violated", "expect no credit points", False,
     "written, but expected not to be: credit points\n    + credit points +10 -> 10 to c1 by counter    (line"),
    ("no effects violated", "expect no effects to c1", False, "written, but expected not to be: effects to c1"),
    ("balance holds", "expect client c1 balance bonus = 25.00 USD\n  expect client c1 balance points = 10", True, None),
    ("balance differs", "expect client c1 balance bonus = 25.50", False,
     "client c1 balance bonus: expected 25.50, found 25.00 USD"),
    ("balance in other words", "expect client c1 balance bonus = 25\n  expect client c1 balance bonus = +25.00USD", True, None),
    ("var holds", "expect client c1 var deposits = 1", True, None),
    ("var differs", "expect client c1 var deposits = 2", False, "client c1 var deposits: expected 2, found 1"),
    ("tier holds", "expect client c1 tier Base", True, None),
    ("tier differs", "expect client c1 tier Gold", False, "client c1 tier: expected Gold, found Base"),
    ("segment holds", "expect client c1 not in big", True, None),
    ("segment differs", "expect client c1 in big", False, "client c1 is not in segment big, expected in it"),
    ("an unknown client", "expect client c9 tier Base", False, "client c9 has sent no record yet"),
]


def kinds_file(d):
    with open(os.path.join(d, "program.perk"), "w") as f:
        f.write(PROGRAM)
    text = 'program "program.perk"\n'
    for name, body, _, _ in KINDS:
        text += f'\nscenario "{name}"\n  deposit c1 amount=250 first at 2026-01-05T10:00\n  {body}\nend\n'
    text += """
scenario "state at a later time"
  deposit c1 amount=1000 at 2026-01-05T10:00
  expect client c1 tier Gold
  expect client c1 in big
  expect client c1 tier Base at 2026-02-10
  expect segment big left to c1
  expect tier Gold -> Base to c1
end

scenario "a reject that is expected"
  deposit c1 amount=1.001 at 2026-01-05T10:00
  expect reject "amount"
end

scenario "a reject that is not"
  deposit c1 amount=1.001 at 2026-01-05T10:00
  deposit c1 amount=5 at 2026-01-05T11:00
  expect credit points 10
end

scenario "an expected reject that does not come"
  deposit c1 amount=5 at 2026-01-05T10:00
  expect reject
end

scenario "JSON records"
  {"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"300","first":true}
  {"type":"spend","id":"s1","client":"c1","time":"2026-01-05T11:00:00Z","points":4}
  expect credit bonus 30.00 to c1
  expect debit points 4 by spending
  expect notify spent to c1
end

scenario "a param"
  param nothing=1
  deposit c1 amount=5 at 2026-01-05T10:00
  expect no effects
end

scenario "a short-form error"
  deposit c1 amont=5 at 2026-01-05T10:00
  expect no effects
end

scenario "no time on the first record"
  deposit c1 amount=5
  expect no effects
end

scenario "a long window is cut"
  deposit c1 amount=5 at 2026-01-05T10:00
""" + "  deposit c1 amount=5 at +1m\n" * 19 + """  expect credit points 11
end

scenario "unknown names"
  deposit c1 amount=5 at 2026-01-05T10:00
  expect credit bonsu 5
  expect client c1 tier Golde
  expect no credit by welcom
  expect credit bonus 1.234
end
"""
    path = os.path.join(d, "kinds.perktest")
    with open(path, "w") as f:
        f.write(text)
    return path


@case("every expectation kind passes when it holds and fails when it does not")
def _(problems):
    d = tempfile.mkdtemp(prefix="perktest-")
    try:
        path = kinds_file(d)
        code, out, _ = perk_test(path)
        if code != 1:
            problems.append(f"exit {code}, expected 1")
        st = statuses(out)
        sections = out.split("\n---- ")
        for name, _, passes, shows in KINDS:
            want = "ok" if passes else "FAILED"
            if st.get(name) != want:
                problems.append(f"{name}: {st.get(name)}, expected {want}")
            if shows:
                section = next((s for s in sections if f'"{name}" ----' in s.split("\n")[0]), "")
                if shows not in section:
                    problems.append(f"{name}: failure does not show {shows!r}:\n{section}")
        for name in ("state at a later time", "a reject that is expected", "JSON records"):
            if st.get(name) != "ok":
                problems.append(f"{name}: {st.get(name)}")
        expect_in(problems, out, "    ... and 10 more entries\n")
        for name in ("a reject that is not", "an expected reject that does not come", "a param", "a long window is cut",
                     "a short-form error", "no time on the first record", "unknown names"):
            if st.get(name) != "FAILED":
                problems.append(f"{name}: {st.get(name)}, expected FAILED")
        expect_in(problems, out,
                  f"line {line_of(path, REJECT_NOT) + 1}: the record was rejected: "
                  "field `amount`: money has at most 2 decimal places, got 1.001\n"
                  "    (add `expect reject` after it if the scenario means it to be)",
                  "expected a reject, but every record since the last expectations was accepted",
                  f"kinds.perktest:{line_of(path, 'param nothing=1')}:9: error: the program has no param `nothing`",
                  "the event `deposit` has no field `amont`; did you mean `amount`? [R0003]",
                  "the scenario's first record needs a time",
                  "error: the program has no wallet `bonsu`; its wallets are bonus, points",
                  "the program has no tier `Golde`; did you mean `Gold`?",
                  "the program has no rule `welcom`; did you mean `welcome`?",
                  "`1.234` is not an amount of a money wallet")
    finally:
        shutil.rmtree(d)


REJECT_NOT = 'scenario "a reject that is not"'


def line_of(path, text):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    return 0


@case("short-form errors and name errors point at their line and column")
def _(problems):
    d = tempfile.mkdtemp(prefix="perktest-")
    try:
        path = kinds_file(d)
        _, out, _ = perk_test(path)
        amont = line_of(path, "amont=5")
        bonsu = line_of(path, "expect credit bonsu")
        expect_in(problems, out,
                  f"line {amont}: column 14: the event `deposit` has no field `amont`",
                  f"kinds.perktest:{bonsu}:17: error: the program has no wallet `bonsu`",
                  "  expect credit bonsu 5\n                  ^~~~~\n")
    finally:
        shutil.rmtree(d)


@case("scenario-file syntax errors: line, column, caret and what to do")
def _(problems):
    d = tempfile.mkdtemp(prefix="perktest-")
    try:
        with open(os.path.join(d, "program.perk"), "w") as f:
            f.write(PROGRAM)
        path = os.path.join(d, "bad.perktest")
        with open(path, "w") as f:
            f.write('program "program.perk"\nscenario "s"\n  expect credt bonus\n  expect client c1 balance bonus 5\n'
                    'scenario "t"\n  expect no effects\nend\nend\n')
        code, out, _ = perk_test(path)
        if code != 1:
            problems.append(f"exit {code}, expected 1")
        expect_in(problems, out,
                  "bad.perktest:3:10: error: `credt` is not a ledger action",
                  "    expect credt bonus\n           ^~~~~\n",
                  "bad.perktest:4:20: error: write `balance NAME = VALUE`",
                  'bad.perktest:5:1: error: scenario "s" (line 2) has no `end`; add `end` before this line',
                  "bad.perktest:8:1: error: `end` without a `scenario` to close; remove it",
                  "0 passed, 1 failed")
    finally:
        shutil.rmtree(d)


@case("a program with errors fails its scenarios; its diagnostics are shown once")
def _(problems):
    d = tempfile.mkdtemp(prefix="perktest-")
    try:
        with open(os.path.join(d, "program.perk"), "w") as f:
            f.write(PROGRAM.replace("credit points 10", "credit pionts 10"))
        path = os.path.join(d, "t.perktest")
        with open(path, "w") as f:
            f.write('program "program.perk"\n' + "".join(
                f'scenario "{n}"\n  deposit c1 amount=5 at 2026-01-05\n  expect no effects\nend\n' for n in ("one", "two")))
        code, out, _ = perk_test(path)
        if code != 1:
            problems.append(f"exit {code}, expected 1")
        if statuses(out) != {"one": "FAILED", "two": "FAILED"}:
            problems.append(f"statuses {statuses(out)}")
        if out.count("pionts") != 2:  # the diagnostic's message and its source line, once
            problems.append(f"the diagnostics are shown {out.count('pionts') // 2} times")
        expect_in(problems, out, "t.perktest:1:9: note: the program this scenario runs has errors",
                  'the program program.perk cannot run; see scenario "one" above')
    finally:
        shutil.rmtree(d)


@case("--junit writes JUnit XML with each scenario and its failure")
def _(problems):
    d = tempfile.mkdtemp(prefix="perktest-")
    try:
        path = kinds_file(d)
        junit = os.path.join(d, "out", "junit.xml")
        os.mkdir(os.path.dirname(junit))
        code, out, _ = perk_test(path, "--junit", junit)
        root = ET.parse(junit).getroot()
        if root.tag != "testsuites":
            problems.append(f"root {root.tag}")
        cases = root.findall("./testsuite/testcase")
        failed = [c for c in cases if c.find("failure") is not None]
        st = statuses(out)
        if len(cases) != len(st):
            problems.append(f"{len(cases)} testcases, {len(st)} scenarios")
        if len(failed) != sum(1 for v in st.values() if v == "FAILED"):
            problems.append("failure count differs from the report")
        if root.get("tests") != str(len(cases)) or root.get("failures") != str(len(failed)):
            problems.append(f"totals {root.attrib}")
        one = next((c for c in cases if c.get("name") == "effect amount differs"), None)
        if one is None or "credit bonus 25.01" not in (one.find("failure").text or ""):
            problems.append("the failure text is missing")
        if one is not None and not one.get("line", "").isdigit():
            problems.append("no line attribute")
    finally:
        shutil.rmtree(d)


@case("folders are searched recursively, the working directory by default, build trees skipped")
def _(problems):
    d = tempfile.mkdtemp(prefix="perktest-")
    try:
        for sub in ("a", os.path.join("a", "b"), "build", ".hidden"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
            with open(os.path.join(d, sub, "program.perk"), "w") as f:
                f.write(PROGRAM)
            with open(os.path.join(d, sub, "x.perktest"), "w") as f:
                f.write('program "program.perk"\nscenario "one"\n  deposit c1 amount=5 at 2026-01-05\n'
                        '  expect credit points 10\nend\n')
        with open(os.path.join(d, "a", "notes.txt"), "w") as f:
            f.write("not a scenario")
        code, out, _ = perk_test(cwd=d)
        if code != 0:
            problems.append(f"exit {code}")
        expect_in(problems, out, "running 2 scenarios from 2 files", "2 passed, 0 failed")
        if "build" in out or ".hidden" in out:
            problems.append("searched a build tree or hidden folder")
        code, out, err = perk_test(os.path.join(d, "missing"))
        if code != 2 or "no such file or folder" not in err:
            problems.append(f"missing path: exit {code}, {err!r}")
    finally:
        shutil.rmtree(d)


def main():
    global PERK
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", required=True)
    PERK = os.path.abspath(ap.parse_args().perk)
    for run in CASES:
        run()
    failed = 0
    for name, problems in RESULTS:
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print("     " + p.replace("\n", "\n     "))
        else:
            print(f"ok   {name}")
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
