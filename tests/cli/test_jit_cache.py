#!/usr/bin/env python3
"""The JIT's object cache seen from `perk run` (docs/jit.md, "Object cache").

usage: test_jit_cache.py --perk build/perk

A second run of a program hits the cache (PERK_JIT_CACHE_LOG says so on stderr) and writes the
same ledger; a damaged entry is ignored; --no-jit-cache and PERK_JIT_CACHE=off keep no cache;
the directory comes from --jit-cache, PERK_JIT_CACHE, XDG_CACHE_HOME, HOME or, without either,
next to --state; an unwritable directory is a note, not a failure; concurrent runs are safe.
Every case runs in a fresh directory with HOME and XDG_CACHE_HOME pointing into it, so nothing
is written to the user's own cache. Prints `N passed, N failed`; exits 1 on any failure.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

PROGRAM = """program "P"
currency USD
event deposit { amount: money, n: int = 1 }
wallet bonus: money
param share: int = 2
rule r on deposit then credit bonus deposit.amount * share end
rule q on deposit when deposit.amount > 5 USD then emit "q" { per: 10 / deposit.n } end
"""
EVENTS = ('{"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"10.00"}\n'
          '{"type":"deposit","id":"d2","client":"c1","time":"2026-01-05T11:00:00Z","amount":"7.00","n":0}\n')


class Work:
    """A fresh directory with the program and events, and an environment without the user's cache."""

    def __init__(self, perk):
        self.perk = perk
        self.dir = tempfile.mkdtemp(prefix="perk_jit_cache_")
        for name, text in (("p.perk", PROGRAM), ("e.jsonl", EVENTS)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.env = dict(os.environ)
        self.env.pop("PERK_JIT_CACHE", None)
        self.env["HOME"] = os.path.join(self.dir, "home")
        self.env["XDG_CACHE_HOME"] = os.path.join(self.dir, "xdg")
        self.env["PERK_JIT_CACHE_LOG"] = "1"

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, *args, env=None, engine="jit"):
        """`perk run p.perk --events e.jsonl ARGS`: (exit, ledger, stderr)."""
        e = dict(self.env)
        e.update(env or {})
        e = {k: v for k, v in e.items() if v is not None}
        p = subprocess.run([self.perk, "run", "p.perk", "--events", "e.jsonl", "--engine", engine] + list(args),
                           cwd=self.dir, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p.returncode, p.stdout, p.stderr

    def entries(self, d):
        return sorted(glob.glob(os.path.join(d, "*.perkjit")))

    def close(self):
        for root, dirs, _ in os.walk(self.dir):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(self.dir)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def case_hit(w):
    code, want, _ = w.run(engine="interp")
    expect(code == 0 and "division by zero" not in want, "the interpreter run failed")
    d = w.path("c")
    code, first, err = w.run("--jit-cache", d)
    expect(code == 0 and "jit cache miss, stored" in err, f"first run: {err}")
    code, second, err = w.run("--jit-cache", d)
    expect(code == 0 and "jit cache hit" in err, f"second run did not hit: {err}")
    expect(first == want and second == want, "a cached run wrote another ledger")
    expect(len(w.entries(d)) == 1, f"entries: {w.entries(d)}")
    # A param override is another program.
    code, _, err = w.run("--jit-cache", d, "--param", "share=3")
    expect(code == 0 and "jit cache miss" in err, f"--param share=3 hit the cache: {err}")
    expect(len(w.entries(d)) == 2, f"entries: {w.entries(d)}")


def case_corrupt(w):
    d = w.path("c")
    _, want, _ = w.run("--jit-cache", d)
    [entry] = w.entries(d)
    data = open(entry, "rb").read()
    for what, bad in (("flipped", data[:100] + bytes([data[100] ^ 1]) + data[101:]),
                      ("truncated", data[: len(data) // 3]), ("garbage", b"\x7fELF" + b"\0" * 64)):
        with open(entry, "wb") as f:
            f.write(bad)
        code, got, err = w.run("--jit-cache", d)
        expect(code == 0 and "jit cache miss, stored" in err, f"{what} entry: {err}")
        expect(got == want, f"{what} entry: another ledger")
        code, got, err = w.run("--jit-cache", d)
        expect("jit cache hit" in err and got == want, f"{what} entry was not replaced: {err}")


def case_off(w):
    code, _, err = w.run("--no-jit-cache")
    expect(code == 0 and "jit cache" not in err, f"--no-jit-cache: {err}")
    code, _, err = w.run(env={"PERK_JIT_CACHE": "off"})
    expect(code == 0 and "jit cache" not in err, f"PERK_JIT_CACHE=off: {err}")
    code, _, err = w.run("--engine", "interp")
    expect(not os.path.exists(w.path("xdg")) and not os.path.exists(w.path("home")), "a cache was written")


def case_where(w):
    env_dir = w.path("env")
    w.run(env={"PERK_JIT_CACHE": env_dir})
    expect(len(w.entries(env_dir)) == 1, "PERK_JIT_CACHE was not used")
    w.run("--jit-cache", w.path("flag"), env={"PERK_JIT_CACHE": env_dir})
    expect(len(w.entries(w.path("flag"))) == 1, "--jit-cache does not win over PERK_JIT_CACHE")
    w.run()
    expect(len(w.entries(w.path("xdg", "perk", "jit"))) == 1, "XDG_CACHE_HOME/perk/jit was not used")
    w.run(env={"XDG_CACHE_HOME": None})
    expect(len(w.entries(w.path("home", ".cache", "perk", "jit"))) == 1, "~/.cache/perk/jit was not used")
    w.run("--state", w.path("s.db"), "--ledger", w.path("s.ledger"), "--rejects", w.path("s.rejects"),
          env={"XDG_CACHE_HOME": None, "HOME": None})
    expect(len(w.entries(w.path("s.db.jit-cache"))) == 1, "without a home the cache is not next to the state")


def case_unwritable(w):
    ro = w.path("ro")
    os.makedirs(ro)
    os.chmod(ro, 0o555)
    if os.access(ro, os.W_OK):  # root writes anyway: use a path under a file instead
        ro = w.path("p.perk", "jit")
    code, got, err = w.run("--jit-cache", ro)
    _, want, _ = w.run("--no-jit-cache")
    expect(code == 0 and got == want, f"an unwritable cache failed the run: {err}")
    expect(err.count("cannot be written") == 1, f"expected one note: {err}")


def case_concurrent(w):
    d = w.path("c")
    _, want, _ = w.run("--no-jit-cache")
    env = dict(w.env)
    procs = [subprocess.Popen([w.perk, "run", "p.perk", "--events", "e.jsonl", "--jit-cache", d], cwd=w.dir, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for p in procs:
        out, err = p.communicate()
        expect(p.returncode == 0 and out == want, f"a concurrent run failed: {err}")
    expect(len(os.listdir(d)) == 1, f"left in the cache: {os.listdir(d)}")
    _, _, err = w.run("--jit-cache", d)
    expect("jit cache hit" in err, f"after concurrent runs: {err}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", required=True)
    args = ap.parse_args()
    perk = os.path.abspath(args.perk)
    passed = failed = 0
    for case in (case_hit, case_corrupt, case_off, case_where, case_unwritable, case_concurrent):
        w = Work(perk)
        try:
            case(w)
            print(f"ok   {case.__name__}")
            passed += 1
        except AssertionError as e:
            print(f"FAIL {case.__name__}: {e}")
            failed += 1
        finally:
            w.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
