#!/usr/bin/env python3
"""An end-to-end editor session: a headless Neovim (Debian's `neovim`) runs session.lua, which
opens a program through editors/nvim's setup, gets `perk lsp`'s diagnostics, completes the
fields after `deposit.` and jumps to a wallet's definition. This checks what it wrote.

usage: test_nvim.py --perk build/perk
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    args = parser.parse_args()
    if shutil.which("nvim") is None:
        print("FAIL nvim is not installed (scripts/setup --test installs it)")
        print("0 passed, 1 failed")
        return 1
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results.json")
        program = os.path.join(tmp, "program.perk")
        shutil.copy(os.path.join(HERE, "program.perk"), program)
        env = dict(os.environ, PERK=os.path.abspath(args.perk), PROGRAM=program, OUT=out,
                   EDITORS_NVIM=os.path.join(ROOT, "editors", "nvim"), XDG_STATE_HOME=tmp, XDG_DATA_HOME=tmp,
                   XDG_CONFIG_HOME=tmp, XDG_CACHE_HOME=tmp)
        run = subprocess.run(["nvim", "--headless", "--clean", "-n", "-c", "luafile " + os.path.join(HERE, "session.lua")],
                             env=env, capture_output=True, text=True, timeout=120)
        if not os.path.exists(out):
            print("FAIL the Neovim session wrote no results")
            print(run.stdout, run.stderr)
            print("0 passed, 1 failed")
            return 1
        with open(out) as f:
            r = json.load(f)

    def check(name, ok, detail):
        checks.append((name, ok))
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"))

    check("session ran without errors", not r["errors"], r["errors"])
    check("*.perk gets filetype perk", r["filetype"] == "perk", r["filetype"])
    diags = r.get("diagnostics", [])
    check("diagnostics arrive on open",
          any(d["code"] == "E0013" and d["lnum"] == 7 and d["col"] == 37 and "did you mean `amount`?" in d["message"]
              for d in diags), diags)
    check("`deposit.` completes deposit's fields",
          r.get("completion") == ["amount", "method", "id", "client", "time"], r.get("completion"))
    check("go to definition jumps to the wallet",
          r.get("definition") == {"line": 6, "col": 7, "word": "points"}, r.get("definition"))
    passed = sum(1 for _, ok in checks if ok)
    print(f"{passed} passed, {len(checks) - passed} failed")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
