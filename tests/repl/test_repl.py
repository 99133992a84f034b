#!/usr/bin/env python3
"""Tests for `perk repl`, through piped stdin and through a pseudo-terminal.

usage: test_repl.py --perk PATH [--engine interp[,jit]] [--update] [NAME ...]

- Transcripts: tests/repl/cases/NAME.in is piped into `perk repl`; its first line
  `# args: ...` gives the command-line arguments (run from a scratch copy of tests/repl, so
  `shop.perk` names tests/repl/shop.perk). stdout and stderr together, then `[exit N]`, must
  equal NAME.out. `--update` rewrites the .out files; review the diff like code.
- Scripted sessions over pipes, for what a fixed transcript cannot do: editing the program
  file between commands (`:reload`), checking files written by `:save` against `perk run`,
  and `:engine`, whose answer depends on whether the JIT is in this build.
- Sessions on a pseudo-terminal: prompts, colour, tab completion, history, Ctrl-C and Ctrl-D.

Every case runs once per engine given with --engine; an engine the build cannot run is
reported as skipped. The last line is `N passed, N failed`. Timeouts only guard against a
hung REPL; nothing here measures speed.
"""
import argparse
import difflib
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES = os.path.join(HERE, "cases")
DEADLINE = 60  # seconds before a session counts as hung

# Input-error codes the scripted sessions printed, for the coverage check.
SEEN_CODES = set()
CODE = re.compile(r"\[(R\d{4})\]")

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\x07")


def plain(text):
    """Terminal output without escape sequences and carriage returns."""
    return ANSI.sub("", text).replace("\r", "")


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, name):
        self.passed += 1
        print(f"ok   {name}")

    def fail(self, name, why):
        self.failed += 1
        print(f"FAIL {name}\n{why}")

    def skip(self, name, why):
        self.skipped += 1
        print(f"skip {name}: {why}")

    def check(self, name, condition, why):
        if condition:
            self.ok(name)
        else:
            self.fail(name, why)


def scratch():
    """A scratch copy of tests/repl's programs to run sessions in."""
    d = tempfile.mkdtemp(prefix="perk-repl-")
    for f in os.listdir(HERE):
        if f.endswith(".perk"):
            shutil.copy(os.path.join(HERE, f), d)
    return d


def base_env(home):
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env["HOME"] = home
    env.pop("PERK_HISTORY", None)
    return env


def engine_available(perk, engine):
    """Can this build run `engine`? Asks `perk run` on a tiny program."""
    d = tempfile.mkdtemp(prefix="perk-probe-")
    try:
        prog = os.path.join(d, "p.perk")
        with open(prog, "w") as f:
            f.write('program "p"\nevent e { n: int }\nwallet w: int\nrule r on e then credit w e.n end\n')
        p = subprocess.run([perk, "run", prog, "--events", "-", "--engine", engine],
                           input='{"type":"e","id":"1","client":"c","time":"2026-01-01T00:00:00Z","n":1}\n',
                           capture_output=True, text=True, timeout=DEADLINE)
        return p.returncode == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- transcripts

def case_args(text):
    first = text.split("\n", 1)[0]
    if not first.startswith("# args:"):
        return None
    return first[len("# args:"):].split()


def run_transcript(perk, name, engine, update, results):
    src = os.path.join(CASES, name + ".in")
    expected_path = os.path.join(CASES, name + ".out")
    with open(src) as f:
        text = f.read()
    args = case_args(text)
    label = f"transcript {name} [{engine}]"
    if args is None:
        results.fail(label, f"{src}: the first line must be `# args: ...`")
        return
    d = scratch()
    try:
        p = subprocess.run([perk, "repl", *args, "--engine", engine], input=text, cwd=d, env=base_env(d),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=DEADLINE)
        # The replay hint names the session's engine; one transcript serves both engines.
        actual = p.stdout.replace(f"--engine {engine}", "--engine ENGINE") + f"[exit {p.returncode}]\n"
    except subprocess.TimeoutExpired:
        results.fail(label, "the session did not end")
        return
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if update:
        with open(expected_path, "w") as f:
            f.write(actual)
        results.ok(label + " (updated)")
        return
    if not os.path.exists(expected_path):
        results.fail(label, f"{expected_path} is missing; run with --update and review it")
        return
    with open(expected_path) as f:
        expected = f.read()
    if actual == expected:
        results.ok(label)
    else:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"{name}.out", "actual"))
        results.fail(label, diff)


# ---------------------------------------------------------------- scripted sessions over pipes

class PipeSession:
    """`perk repl` on pipes. send() writes lines, then a marker expression, and returns what
    the REPL printed before the marker's value: everything those lines caused."""

    def __init__(self, perk, args, cwd):
        self.proc = subprocess.Popen([perk, "repl", *args], cwd=cwd, env=base_env(cwd), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buffer = b""
        self.marks = 0

    def send(self, *lines):
        self.marks += 1
        marker = f'"sync-{self.marks}"'
        data = "".join(line + "\n" for line in lines) + marker + "\n"
        # Written from a thread: a long line's diagnostics may fill the output pipe before
        # the REPL has read all of the input.
        writer = threading.Thread(target=self._write, args=(data.encode(),), daemon=True)
        writer.start()
        want = f"{marker} : string\n".encode()
        deadline = time.monotonic() + DEADLINE
        while want not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {lines!r}; output so far:\n{self.buffer.decode(errors='replace')}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError(f"the REPL ended; output:\n{self.buffer.decode(errors='replace')}")
                self.buffer += chunk
        writer.join()
        out, self.buffer = self.buffer.split(want, 1)
        SEEN_CODES.update(CODE.findall(out.decode(errors="replace")))
        return out.decode()

    def _write(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def close(self):
        self.proc.stdin.close()
        rest = self.proc.stdout.read().decode()
        code = self.proc.wait(timeout=DEADLINE)
        return rest, code


def test_save_replays(perk, engine, results):
    """`:save` writes the accepted records; `perk run` over them gives the session's ledger."""
    d = scratch()
    label = f"save replays through perk run [{engine}]"
    try:
        s = PipeSession(perk, ["shop.perk", "--json", "--engine", engine], d)
        s.send("profile c1 birthdate=1980-01-06 at 2026-01-05T09:00",
               "purchase c1 amount=120 at 2026-01-05T10:00",
               "purchase c1 amount=9.999",  # rejected: not in the saved file
               "purchase c2 amount=2500 store=mall at +1h",
               '{"type":"purchase","id":"repl-1","client":"c1","time":"2026-01-05T12:00:00Z","amount":"5"}',  # duplicate
               "referral c1 friend=ann",
               ":tick 2026-01-07",
               "purchase c1 amount=300 at +2h")
        ledger = s.send(":ledger 1000")
        saved = s.send(":save session.jsonl")
        s.close()
        with open(os.path.join(d, "session.jsonl")) as f:
            records = f.read()
        run = subprocess.run([perk, "run", "shop.perk", "--events", "session.jsonl", "--engine", engine], cwd=d,
                             capture_output=True, text=True, timeout=DEADLINE)
        lines = records.splitlines()
        problems = []
        if len(lines) != 6:
            problems.append(f"expected 6 saved records (rejects and duplicates left out), got {len(lines)}:\n{records}")
        if "9.999" in records:
            problems.append("the rejected record was saved")
        if '{"type":"tick","time":"2026-01-07T00:00:00Z"}' not in lines:
            problems.append("the :tick was not saved as a tick record")
        if "saved 6 records to session.jsonl" not in saved:
            problems.append(f"unexpected :save output: {saved!r}")
        if run.returncode != 0 or run.stdout != ledger or not ledger.strip():
            problems.append(f"perk run gave\n{run.stdout}{run.stderr}\nthe session's ledger was\n{ledger}")
        results.check(label, not problems, "\n".join(problems))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_reload(perk, engine, results):
    """`:reload` reads the edited file, replays the session and says what it dropped."""
    d = scratch()
    label = f"reload keeps state and reports drops [{engine}]"
    work = os.path.join(d, "work.perk")
    shutil.copy(os.path.join(d, "shop.perk"), work)
    problems = []

    def expect(out, *parts):
        for p in parts:
            if p not in out:
                problems.append(f"missing {p!r} in:\n{out}")

    def refuse(out, *parts):
        for p in parts:
            if p in out:
                problems.append(f"unexpected {p!r} in:\n{out}")

    try:
        s = PipeSession(perk, ["work.perk", "--engine", engine], d)
        s.send("purchase c1 amount=2500 at 2026-01-05T10:00",
               "purchase c1 amount=150 at +1h",
               "referral c1 friend=ann",
               "purchase c2 amount=20 at +1h",
               "wallet extra: int")
        expect(s.send(":client c1"), "tier       Gold", "badges     gold_member", "stamps = 2")
        # An edited file: replayed, with what the new program no longer has.
        shutil.copy(os.path.join(d, "shop_v2.perk"), work)
        out = s.send(":reload")
        expect(out, "replayed 4 records", "dropped by the new program:",
               "wallet `cashback` is gone", "var `stamps` changed from int to decimal",
               "badge `gold_member` (1 client) is no longer granted",
               "aggregate `count(purchase within 7 days)` is no longer used",
               "segment `regular` is gone",
               "record 3: unknown record type `referral`", "reloaded work.perk")
        refuse(out, "aggregate `sum(purchase.amount within 30 days)`", "wallet `points`")
        expect(s.send(":client c1"), "credit_back = 53.00 EUR", "stamps = 1", "badges     (none)")
        # The declaration typed in is still part of the program.
        expect(s.send("extra"), "0 : int")
        # A file that now has errors leaves the running program as it was.
        with open(work, "w") as f:
            f.write('program "Shop"\ncurrency EUR\nwallet points: int\nrule r on nothing then credit points 1 end\n')
        out = s.send(":reload")
        expect(out, "work.perk:4:8: error: there is no event `nothing`", "`work.perk` was not reloaded; the program is unchanged",
               "(`:load` it to drop the declarations typed in)", "[R0012]")
        expect(s.send("credit_back"), "53.00 EUR : money")
        # A file that declares what was typed in: it conflicts until `:load` drops the typed part.
        shutil.copy(os.path.join(d, "shop_v2.perk"), work)
        with open(work, "a") as f:
            f.write("wallet extra: money\n")
        out = s.send(":reload")
        expect(out, "<typed 1>:1:1: error: `extra` is already declared", "was not reloaded")
        out = s.send(":load work.perk")
        expect(out, "loaded work.perk")
        expect(s.send("extra"), "0.00 EUR : money")
        # A file that is gone.
        os.remove(work)
        out = s.send(":reload")
        expect(out, "error: cannot read `work.perk` [R0008]")
        rest, code = s.close()
        if code != 0:
            problems.append(f"exit {code}: {rest}")
        results.check(label, not problems, "\n".join(problems))
    except (TimeoutError, EOFError) as e:
        results.fail(label, str(e))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_engine(perk, engine, jit_ok, results):
    """`:engine` switches engines by replaying; the JIT is used once the build has it."""
    d = scratch()
    label = f"engine command [{engine}]"
    problems = []
    try:
        s = PipeSession(perk, ["shop.perk", "--engine", engine], d)
        s.send("purchase c1 amount=120 at 2026-01-05T10:00", "purchase c1 amount=130 at +1h")
        shown = s.send(":engine")
        if f"engine: {engine}" not in shown:
            problems.append(f":engine showed {shown!r}")
        if f"already on {engine}" not in s.send(f":engine {engine}"):
            problems.append("switching to the current engine should say so")
        bad = s.send(":engine fast")
        if "`:engine` takes `jit` or `interp`, got `fast` [R0002]" not in bad:
            problems.append(f":engine fast gave {bad!r}")
        other = "interp" if engine == "jit" else "jit"
        before = s.send(":ledger")
        out = s.send(f":engine {other}")
        if other == "jit" and not jit_ok:
            if "[R0009]" not in out or "staying on interp" not in out:
                problems.append(f":engine jit without a JIT gave {out!r}")
            if "engine: interp" not in s.send(":engine"):
                problems.append("a failed switch must keep the engine")
        else:
            if f"engine: {other} (2 records replayed)" not in out:
                problems.append(f":engine {other} gave {out!r}")
            if s.send(":ledger") != before:
                problems.append("the two engines gave different ledgers")
        s.close()
        # Bad engine names on the command line are usage errors.
        p = subprocess.run([perk, "repl", "--engine", "fast"], input="", capture_output=True, text=True,
                           timeout=DEADLINE, cwd=d)
        if p.returncode != 2 or "--engine must be `jit` or `interp`" not in p.stderr:
            problems.append(f"--engine fast: exit {p.returncode}, {p.stderr!r}")
        results.check(label, not problems, "\n".join(problems))
    except (TimeoutError, EOFError) as e:
        results.fail(label, str(e))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_hostile_input(perk, engine, results):
    """Input too deep or too long for the parser is an error, and the session goes on."""
    d = scratch()
    label = f"deep and long input [{engine}]"
    problems = []
    try:
        s = PipeSession(perk, ["shop.perk", "--engine", engine], d)
        out = s.send("not " * 200_000 + "true")
        if "nests more than 256 operations deep" not in out:
            problems.append(f"deep nesting gave {out[:300]!r}")
        out = s.send("rule r on purchase then " + "if true then " * 50_000 + "end " * 50_000 + "end")
        if "these `if` actions nest more than 256 deep" not in out:
            problems.append(f"a deeply nested rule gave {out[:300]!r}")
        out = s.send("x" * (1 << 20 + 1))
        if "the REPL reads at most 1048576 at once" not in out or "[R0015]" not in out:
            problems.append(f"a 2 MiB line gave {out[:300]!r}")
        if "42 : int" not in s.send("6 * 7"):
            problems.append("the session did not go on")
        s.close()
        results.check(label, not problems, "\n".join(problems))
    except (TimeoutError, EOFError) as e:
        results.fail(label, str(e))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def check_coverage(results, jit_ok):
    """Every input-error code appears in a transcript or a scripted session. R0009 (the JIT
    cannot run the program) can only appear in a build whose JIT does not work."""
    with open(os.path.join(ROOT, "cli", "repl_errors.def")) as f:
        codes = set(re.findall(r'PERK_REPL_ERROR\(\w+, "(R\d{4})"', f.read()))
    seen = set(SEEN_CODES)
    for name in os.listdir(CASES):
        if name.endswith(".out"):
            with open(os.path.join(CASES, name)) as f:
                seen.update(CODE.findall(f.read()))
    if jit_ok:
        codes.discard("R0009")
    missing = sorted(codes - seen)
    results.check(f"input-error coverage ({len(codes)} codes)", not missing and codes,
                  f"no test produces {', '.join(missing)}")


# ---------------------------------------------------------------- pseudo-terminal sessions

class PtySession:
    """`perk repl` on a pseudo-terminal, as a person would use it."""

    def __init__(self, argv, cwd, env):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        import fcntl
        import termios
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.raw = ""   # everything read, escape sequences included
        self.seen = 0   # how much of plain(raw) earlier expectations consumed

    def write(self, text):
        os.write(self.fd, text.encode())

    def expect(self, pattern):
        """Reads until `pattern` (a regex) appears in the plain output after the last match."""
        deadline = time.monotonic() + DEADLINE
        rx = re.compile(pattern)
        while True:
            text = plain(self.raw)
            m = rx.search(text, self.seen)
            if m:
                self.seen = m.end()
                return text[m.start():m.end()]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waited for {pattern!r}; the terminal shows:\n{text[self.seen:]}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise EOFError(f"the REPL ended while waiting for {pattern!r}:\n{text[self.seen:]}")
                self.raw += chunk.decode(errors="replace")

    def wait(self):
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                try:
                    while os.read(self.fd, 65536):
                        pass
                except OSError:
                    pass
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:
                # Read only what is there: a blocking read on a REPL that never exits would
                # hang the suite instead of failing the step at the deadline.
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    os.read(self.fd, 65536)
            except OSError:
                pass
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise TimeoutError("the REPL did not exit")


def test_pty(perk, engine, results):
    d = scratch()
    env = base_env(d)
    env["TERM"] = "xterm"
    # A non-UTF-8 locale: the REPL must fall back to C.UTF-8 for non-ASCII keys to work.
    env["LC_ALL"] = "C"
    label = f"pty session [{engine}]"

    steps = []

    def step(name, fn):
        try:
            fn()
            steps.append((name, None))
        except (TimeoutError, EOFError, AssertionError) as e:
            steps.append((name, str(e)))
            raise

    try:
        t = PtySession([perk, "repl", "shop.perk", "--engine", engine], d, env)
        step("banner and prompt", lambda: t.expect(r"perk repl: shop\.perk; `:help` lists.*\n") and t.expect(r"perk> "))

        def record():
            t.write("purchase c1 amount=120 at 2026-01-05T10:00\r")
            t.expect(r"big_basket\s+credit\s+cashback \+2\.40 -> 2\.40")
            assert "\x1b[32mcredit" in t.raw, "a credit is green on a terminal"
            t.expect(r"perk\[c1\]> ")
        step("a record prints a coloured table; the prompt names the client", record)

        def complete_command():
            t.write(":clie\t")
            t.expect(r":client")
            t.write("\t")
            t.expect(r":client\s+:clients")
            t.write("s\r")
            t.expect(r"client\s+since\s+tier\s+points\s+cashback")
            t.expect(r"c1\s+2026-01-05T10:00:00Z\s+Basic\s+120\s+2\.40 EUR")
        step("tab completes commands and lists choices", complete_command)

        def complete_field():
            t.expect(r"perk\[c1\]> ")
            t.write("purchase.am\t\r")
            t.expect(r"purchase\.amount\s*\n120\.00 EUR : money")
            t.write("purchase c1 st\tmall amo\t130 at +1h\r")
            t.expect(r"purchase c1 store=mall amount=130 at \+1h")
            t.expect(r'"store":"mall","amount":130')
        step("tab completes fields, in expressions and records", complete_field)

        def history():
            t.expect(r"perk\[c1\]> ")
            t.write("points * 2\r")
            t.expect(r"500 : int")
            t.write("\x1b[A\r")
            t.expect(r"500 : int")
        step("the up arrow brings back the last line", history)

        def multiline_and_interrupt():
            t.expect(r"perk\[c1\]> ")
            t.write("rule r on purchase\r")
            t.expect(r"\.\.\.> ")
            t.write("when purchase.amount > 1 EUR\r")
            t.expect(r"\.\.\.> ")
            t.write("\x03")
            t.expect(r"\(input dropped\)")
            t.expect(r"perk\[c1\]> ")
            t.write("count(purchase\r")
            t.expect(r"\.\.\.> ")
            t.write("within 1 day)\r")
            t.expect(r"2 : int")
        step("unfinished input continues; Ctrl-C drops it", multiline_and_interrupt)

        def coloured_error():
            t.expect(r"perk\[c1\]> ")
            t.write(":nope\r")
            t.expect(r"`:nope` is not a command")
            assert "\x1b[1;31merror:" in t.raw, "errors are red on a terminal"
        step("errors are coloured on a terminal", coloured_error)

        def non_ascii():
            t.expect(r"perk\[c1\]> ")
            t.write('upper("café")\r')
            t.expect(r'"CAFÉ" : string')
        step("non-ASCII keys", non_ascii)

        def ctrl_d():
            t.expect(r"perk\[c1\]> ")
            t.write("\x04")
            code = t.wait()
            assert code == 0, f"Ctrl-D exit code {code}"
        step("Ctrl-D leaves with exit code 0", ctrl_d)

        def history_file():
            with open(os.path.join(d, ".perk_history")) as f:
                saved = f.read()
            assert "points" in saved and ":clients" in saved, f"history file holds:\n{saved}"
            t2 = PtySession([perk, "repl", "shop.perk", "--engine", engine], d, env)
            t2.expect(r"perk> ")
            t2.write("\x1b[A")
            t2.expect(r'upper\("café"\)')
            t2.write("\x15:quit\r")
            assert t2.wait() == 0
        step("history is kept between sessions", history_file)
    except (TimeoutError, EOFError, AssertionError):
        pass
    finally:
        shutil.rmtree(d, ignore_errors=True)
    failed = [(n, e) for n, e in steps if e]
    for n, e in steps:
        if e is None:
            results.ok(f"{label}: {n}")
        else:
            results.fail(f"{label}: {n}", e)
    if not steps:
        results.fail(label, "no step ran")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    ap.add_argument("--engine", default="interp", help="comma-separated engines, e.g. jit,interp")
    ap.add_argument("--update", action="store_true", help="rewrite the transcripts' .out files")
    ap.add_argument("names", nargs="*", help="transcript names (default: all, plus every other test)")
    a = ap.parse_args()
    perk = os.path.abspath(a.perk)
    results = Results()
    names = a.names or sorted(f[:-3] for f in os.listdir(CASES) if f.endswith(".in"))
    jit_ok = engine_available(perk, "jit")
    for engine in [e.strip() for e in a.engine.split(",") if e.strip()]:
        if engine not in ("jit", "interp"):
            results.fail(f"engine {engine}", "engines are `jit` and `interp`")
            continue
        if engine == "jit" and not jit_ok:
            results.skip(f"[{engine}]", "this build has no JIT yet")
            continue
        for name in names:
            run_transcript(perk, name, engine, a.update, results)
        if a.names:
            continue
        test_save_replays(perk, engine, results)
        test_reload(perk, engine, results)
        test_engine(perk, engine, jit_ok, results)
        test_hostile_input(perk, engine, results)
        test_pty(perk, engine, results)
    if not a.names:
        check_coverage(results, jit_ok)
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
