#!/usr/bin/env python3
"""Keeps docs/diagnostics.md in step with the compiler and its tests.

Every code in compiler/diagnostic_kinds.def must have a `## CODE` section in the reference,
and no section may name a code that does not exist. Each section holds an example block
between `<!-- example CODE [FILE] -->` and `<!-- end example -->`: the diagnostic as
`perk check` prints it, copied from tests/diagnostics/FILE.expected (or the first .expected
file holding `[CODE]`). Examples are therefore produced by a golden test, and cannot drift
from what the compiler says.

usage: diagnostics_doc.py [--update]
Without --update it checks and prints `ok`/`FAIL` lines and `N passed, N failed`;
with --update it rewrites the example blocks from the .expected files.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEF = os.path.join(ROOT, "compiler", "diagnostic_kinds.def")
DOC = os.path.join(ROOT, "docs", "diagnostics.md")
DIAG_DIR = os.path.join(ROOT, "tests", "diagnostics")
MARK = re.compile(r"<!-- example ([EW]\d{4})(?: (\w+))? -->\n(.*?)<!-- end example -->\n", re.S)
HEADER = re.compile(r"^\S.*?:\d+:\d+: (error|warning|note): ")


def codes_in_def():
    with open(DEF, encoding="utf-8") as f:
        return [m.group(1) for m in re.finditer(r'PERK_DIAG\(\s*\w+\s*,\s*\w+\s*,\s*"([EW]\d{4})"', f.read())]


def expected_files():
    return sorted(f[:-len(".expected")] for f in os.listdir(DIAG_DIR) if f.endswith(".expected"))


def block(code, name):
    """The first diagnostic with [code] in NAME.expected, with its source lines and notes."""
    with open(os.path.join(DIAG_DIR, name + ".expected"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if HEADER.match(line) and line.endswith(f"[{code}]"):
            out = [line]
            for rest in lines[i + 1:]:
                if rest.startswith(" ") or (HEADER.match(rest) and HEADER.match(rest).group(1) == "note"):
                    out.append(rest)
                else:
                    break
            return "\n".join(out)
    return None


def example(code, name):
    names = [name] if name else expected_files()
    for n in names:
        text = block(code, n)
        if text is not None:
            return n, f"```text\n{text}\n```\n"
    return None, None


def main():
    update = "--update" in sys.argv[1:]
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    codes = codes_in_def()
    passed = failed = 0

    def result(ok, name, why=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {why}")

    sections = re.findall(r"^## ([EW]\d{4})\b", doc, re.M)
    missing = [c for c in codes if c not in sections]
    unknown = [c for c in sections if c not in codes]
    result(not missing, "docs/diagnostics.md lists every code",
           f"no `## CODE` section for {', '.join(missing)}; add one (see the others)")
    result(not unknown, "docs/diagnostics.md names only real codes",
           f"sections for codes not in compiler/diagnostic_kinds.def: {', '.join(unknown)}")

    marked = {m.group(1) for m in MARK.finditer(doc)}
    no_example = [c for c in codes if c in sections and c not in marked]
    result(not no_example, "every code in docs/diagnostics.md has an example",
           f"no `<!-- example CODE -->` block for {', '.join(no_example)}")

    def fill(m):
        code, name = m.group(1), m.group(2)
        source, text = example(code, name)
        if text is None:
            result(False, f"example {code}",
                   f"no tests/diagnostics/{name or '*'}.expected holds a diagnostic with [{code}]; add a test that produces it")
            return m.group(0)
        where = f"<!-- example {code}{' ' + name if name else ''} -->\n"
        new = where + text + "<!-- end example -->\n"
        if update or new == m.group(0):
            result(True, f"example {code} (tests/diagnostics/{source}.perk)")
        else:
            result(False, f"example {code}", f"out of date with tests/diagnostics/{source}.expected; "
                                             "run python3 tests/diagnostics_doc.py --update")
        return new

    new_doc = MARK.sub(fill, doc)
    if update and new_doc != doc:
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(new_doc)
        print("updated docs/diagnostics.md")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
