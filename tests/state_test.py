#!/usr/bin/env python3
"""Durable state from the command line: resuming, upgrades, refusals, `perk state`.

usage: state_test.py --perk build/perk [--engine interp[,jit]]

Each case runs `perk run --state` on small programs and streams written here and checks the
outputs, the exit codes, and that refused files are left byte for byte as they were. Prints
`N passed, N failed`.
"""
import argparse
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = """program "Upgrade"
currency USD
event deposit { amount: money }
client { country: string = "CY" }
wallet bonus: money
wallet points: int
var deposits: int = 0
tier Base
tier Gold when sum(deposit.amount within 30 days) >= 1000 USD
rule reward
  on deposit
  limit 3 per client within 7 days
  then
    credit bonus deposit.amount * 10%
    credit points 1
    set deposits = deposits + 1
    grant "depositor"
end
rule daily
  every day
  when points > 2
  then notify "loyal" { points: points }
end
"""


def events(first, count, day0=1):
    lines = []
    for n in range(first, first + count):
        day = day0 + (n - first) // 6
        client = f"c{n % 4}"
        time = f"2026-01-{day:02d}T{10 + n % 6:02d}:00:00Z"
        if n % 9 == 0:
            lines.append(json.dumps({"type": "profile", "client": client, "time": time, "country": "DE"}))
        amount = "12.345" if n % 11 == 5 else f"{100 + n * 7}.50"
        lines.append(json.dumps({"type": "deposit", "id": f"d{n}", "client": client,
                                 "time": time, "amount": amount}))
    return "\n".join(lines) + "\n"


class Case:
    def __init__(self, perk, engine, work):
        self.perk, self.engine, self.work = perk, engine, work

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def read(self, name):
        try:
            with open(self.path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def run(self, program, events_file, state=None, ledger="ledger", rejects="rejects", extra=(), stdin=None):
        args = [self.perk, "run", self.path(program), "--events", events_file if events_file == "-"
                else self.path(events_file), "--engine", self.engine, "--ledger", self.path(ledger),
                "--rejects", self.path(rejects)]
        if state:
            args += ["--state", self.path(state)]
        return subprocess.run(args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=stdin)

    def state(self, *what):
        return subprocess.run([self.perk, "state", self.path("s.db")] + list(what), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)


def case_resume_with_more(c):
    """Two files one after the other on a state give the ledger of one run over both."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 40))
    c.write("b.jsonl", events(40, 40, day0=8))
    c.write("ab.jsonl", events(0, 40) + events(40, 40, day0=8))
    r = c.run("p.perk", "ab.jsonl", ledger="ref.l", rejects="ref.r")
    assert r.returncode == 0, r.stderr
    for f in ("a.jsonl", "b.jsonl"):
        r = c.run("p.perk", f, state="s.db")
        assert r.returncode == 0, r.stderr
    assert c.read("ledger") == c.read("ref.l"), "ledger differs from one run over both files"
    # Reject line numbers are per input file: compare the messages, not the numbers.
    strip = lambda b: [json.loads(x)["error"] for x in b.decode().splitlines()]
    assert strip(c.read("rejects")) == strip(c.read("ref.r")), "rejects differ"
    assert c.read("rejects"), "the stream was meant to have rejects"


def case_until(c):
    """--until's day ticks are committed like records; a second run adds nothing."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 30))
    until = ["--until", "2026-02-03T00:00:00Z"]
    r = c.run("p.perk", "a.jsonl", ledger="ref.l", rejects="ref.r", extra=until)
    assert r.returncode == 0, r.stderr
    r = c.run("p.perk", "a.jsonl", state="s.db", extra=until)
    assert r.returncode == 0, r.stderr
    assert c.read("ledger") == c.read("ref.l") and b'"day:2026-02-03"' in c.read("ledger")
    r = c.run("p.perk", "a.jsonl", state="s.db", extra=until)
    assert r.returncode == 0 and c.read("ledger") == c.read("ref.l"), r.stderr


def case_state_client_and_stats(c):
    """`perk state S client ID` shows what the ledger says; stats total it."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 30))
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    last = {}
    for line in c.read("ledger").decode().splitlines():
        e = json.loads(line)
        if e["action"] == "credit":
            last[(e["client"], e["wallet"])] = e["balance"]
    s = c.state("client", "c1")
    assert s.returncode == 0, s.stderr
    client = json.loads(s.stdout)
    assert client["id"] == "c1" and client["attributes"] == {"country": "DE"}, client
    assert client["wallets"]["bonus"] == last[("c1", "bonus")], (client, last)
    assert client["wallets"]["points"] == int(last[("c1", "points")]), client
    assert client["badges"] == ["depositor"] and client["tier"] in ("Base", "Gold"), client
    s = c.state("client", "nobody")
    assert s.returncode == 1 and "no client `nobody`" in s.stderr, s.stderr
    stats = json.loads(c.state("stats").stdout)
    assert stats["clients"] == 4 and stats["seq"] == c.read("ledger").count(b"\n"), stats
    total = sum(int(json.loads(c.state("client", f"c{k}").stdout)["wallets"]["points"]) for k in range(4))
    assert stats["wallet_totals"]["points"] == total, stats


def case_upgrade_keeps(c):
    """A new wallet, var and tier start at defaults; unchanged ones keep their values."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 30))
    c.write("b.jsonl", events(30, 6, day0=20))
    assert c.run("p.perk", "a.jsonl", state="s.db").returncode == 0
    before = json.loads(c.state("client", "c2").stdout)
    v2 = PROGRAM.replace("var deposits: int = 0", "var deposits: int = 0\nvar streak: int = 5\nwallet cash: money")
    v2 = v2.replace("tier Gold", "tier Silver when points > 100\ntier Gold")
    c.write("p2.perk", v2)
    r = c.run("p2.perk", "b.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    assert "upgraded" in r.stderr, r.stderr
    after = json.loads(c.state("client", "c2").stdout)
    assert after["vars"]["streak"] == 5 and after["wallets"]["cash"] == "0.00", after
    assert after["vars"]["deposits"] >= before["vars"]["deposits"] + 1, (before, after)
    assert after["wallets"]["points"] >= before["wallets"]["points"] + 1, (before, after)
    assert after["badges"] == before["badges"], after


def case_upgrade_refuses_loss(c):
    """Removing or retyping a wallet is refused, listing it, with nothing changed; --allow-drop allows it."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 12))
    c.write("b.jsonl", events(12, 6, day0=4))
    assert c.run("p.perk", "a.jsonl", state="s.db").returncode == 0
    v2 = PROGRAM.replace("wallet points: int\n", "wallet points: money\n").replace("credit points 1",
                                                                                 "credit points 1 USD")
    v2 = v2.replace("when points > 2", "when bonus > 2 USD").replace("{ points: points }", "")
    v2 = v2.replace("    set deposits = deposits + 1\n", "").replace("var deposits: int = 0\n", "")
    c.write("p2.perk", v2)
    files = {n: c.read(n) for n in ("s.db", "ledger", "rejects")}
    r = c.run("p2.perk", "b.jsonl", state="s.db")
    assert r.returncode == 2, r.stderr
    assert "wallet `points` (int) retyped to money(USD)" in r.stderr and "var `deposits` (int) removed" in r.stderr, r.stderr
    assert "--allow-drop" in r.stderr, r.stderr
    assert {n: c.read(n) for n in files} == files, "a refused upgrade changed a file"
    r = c.run("p2.perk", "b.jsonl", state="s.db", extra=["--allow-drop", "points"])
    assert r.returncode == 2 and "var `deposits`" in r.stderr and "wallet `points`" not in r.stderr, r.stderr
    r = c.run("p2.perk", "b.jsonl", state="s.db",
              extra=["--allow-drop", "points", "--allow-drop", "deposits", "--allow-drop", "bonsu"])
    assert r.returncode == 0, r.stderr
    assert "dropped (--allow-drop): wallet `points`" in r.stderr, r.stderr
    # A name that drops nothing (a typo here) is not silently accepted.
    assert "--allow-drop bonsu: the upgrade drops nothing of that name" in r.stderr, r.stderr
    assert "--allow-drop points: the upgrade drops nothing" not in r.stderr, r.stderr
    assert json.loads(c.state("client", "c1").stdout)["wallets"]["points"] in ("1.00", "2.00"), c.state("client", "c1").stdout


RENAME_PROGRAM = """program "Rename"
currency USD
event deposit { amount: money }
wallet bonus: money
rule welcome "Welcome bonus"
  on deposit
  limit once per client
  then credit bonus 10 USD
end
"""


def case_upgrade_rule_rename(c):
    """Renaming a "once per client" rule is refused; `renamed from` keeps its history, --allow-drop resets it."""
    def deposit(n, client, day):
        return json.dumps({"type": "deposit", "id": f"d{n}", "client": client,
                           "time": f"2026-01-{day:02d}T10:00:00Z", "amount": "100.00"}) + "\n"

    def bonus(state, client):
        r = subprocess.run([c.perk, "state", c.path(state), "client", client], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["wallets"]["bonus"]

    c.write("p.perk", RENAME_PROGRAM)
    c.write("a.jsonl", deposit(1, "c1", 1))
    c.write("b.jsonl", deposit(2, "c1", 2) + deposit(3, "c2", 2))
    for state in ("s.db", "t.db"):
        r = c.run("p.perk", "a.jsonl", state=state, ledger=state + ".ledger", rejects=state + ".rejects")
        assert r.returncode == 0, r.stderr
    renamed = RENAME_PROGRAM.replace("rule welcome", "rule first_deposit")
    c.write("p2.perk", renamed)
    files = {n: c.read(n) for n in ("s.db", "s.db.ledger", "s.db.rejects")}
    r = c.run("p2.perk", "b.jsonl", state="s.db", ledger="s.db.ledger", rejects="s.db.rejects")
    assert r.returncode == 2, r.stderr
    assert "rule `welcome`" in r.stderr and "history" in r.stderr, r.stderr
    assert "rule `welcome` removed or renamed: its limit history would start afresh" in r.stderr, r.stderr
    assert "--allow-drop" in r.stderr and "renamed from OLD" in r.stderr, r.stderr
    assert {n: c.read(n) for n in files} == files, "a refused upgrade changed a file"
    # Carried over: c1 was paid under `welcome` and is not paid again under its new name.
    c.write("p3.perk", renamed.replace('"Welcome bonus"', '"Welcome bonus" renamed from welcome'))
    r = c.run("p3.perk", "b.jsonl", state="s.db", ledger="s.db.ledger", rejects="s.db.rejects")
    assert r.returncode == 0, r.stderr
    assert bonus("s.db", "c1") == "10.00" and bonus("s.db", "c2") == "10.00", r.stderr
    # Allowed by the old rule's name: its history starts afresh, so c1 is paid again.
    r = c.run("p2.perk", "b.jsonl", state="t.db", ledger="t.db.ledger", rejects="t.db.rejects",
              extra=["--allow-drop", "welcome"])
    assert r.returncode == 0, r.stderr
    assert "dropped (--allow-drop): rule `welcome`" in r.stderr, r.stderr
    assert "drops nothing" not in r.stderr, r.stderr
    assert bonus("t.db", "c1") == "20.00", r.stderr


def make_hot_journal(path):
    """Leaves `path` as a process killed mid-transaction leaves it: pages written to the file and
    a hot rollback journal beside it (a writer killed before Perk switched the file to WAL)."""
    pid = os.fork()
    if pid == 0:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA cache_size = 1")  # spill dirty pages to the file before the commit
        db.execute("BEGIN")
        db.execute("CREATE TABLE filler(x)")
        for k in range(2000):
            db.execute("INSERT INTO filler VALUES (?)", ("x" * 500,))
        os._exit(0)  # no commit, no rollback, no close
    os.waitpid(pid, 0)
    assert os.path.exists(path + "-journal"), "the child left no journal"


def case_recovers_an_interrupted_write(c):
    """A state whose creation was killed mid-write (a hot journal) is recovered and initialised."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 30))
    r = c.run("p.perk", "a.jsonl", ledger="ref.l", rejects="ref.r")
    assert r.returncode == 0, r.stderr
    make_hot_journal(c.path("s.db"))
    r = c.state("stats")
    assert r.returncode == 2 and "empty state" in r.stderr, (r.returncode, r.stderr)
    make_hot_journal(c.path("s.db"))
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    assert c.read("ledger") == c.read("ref.l"), "ledger differs from a run without state"
    assert not os.path.exists(c.path("s.db-journal")), "the journal was left behind"


def case_refuses_foreign_files(c):
    """Not a database, another application's database, a newer format, a corrupt state: refused untouched."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 12))
    c.write("junk.db", "this is not a database at all, just text that is long enough\n" * 100)
    db = sqlite3.connect(c.path("other.db"))
    db.execute("CREATE TABLE t(x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    db.close()
    for name, words in (("junk.db", "not a Perk state"), ("other.db", "not a Perk state")):
        before = c.read(name)
        r = c.run("p.perk", "a.jsonl", state=name)
        assert r.returncode == 2 and words in r.stderr, (name, r.stderr)
        assert c.read(name) == before, f"{name} was changed"
        assert c.read("ledger") in (None, b""), "a refused state wrote the ledger"
    # A newer format.
    assert c.run("p.perk", "a.jsonl", state="s.db").returncode == 0
    db = sqlite3.connect(c.path("s.db"))
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    before = c.read("s.db")
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 2 and "newer Perk" in r.stderr, r.stderr
    assert c.read("s.db") == before
    s = c.state("stats")
    assert s.returncode == 2 and "newer Perk" in s.stderr, s.stderr
    # A blob that does not decode inside a sound database.
    db = sqlite3.connect(c.path("s.db"))
    db.execute("PRAGMA user_version = 1")
    db.execute("UPDATE client_log SET data = substr(data, 1, 10)")
    db.commit()
    db.close()
    before = c.read("s.db")
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 2 and "corrupt (client log row" in r.stderr, r.stderr
    assert c.read("s.db") == before, "a state with a bad blob was changed"
    # Corrupt: garbage over the pages after the header.
    db = sqlite3.connect(c.path("s.db"))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    data = bytearray(c.read("s.db"))
    for k in range(4096, len(data), 7):
        data[k] = (data[k] * 31 + 7) & 0xFF
    with open(c.path("s.db"), "wb") as f:
        f.write(data)
    before = c.read("s.db")
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 2 and ("corrupt" in r.stderr or "not a Perk state" in r.stderr), r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert c.read("s.db") == before, "a corrupt state was changed"


def case_outputs_must_continue(c):
    """The ledger and rejects must be the files the state wrote; --state needs both."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 12))
    c.write("b.jsonl", events(12, 12, day0=4))
    c.write("other.l", '{"seq":1}\n')
    r = c.run("p.perk", "a.jsonl", state="s.db", ledger="other.l")
    assert r.returncode == 2 and "already holds" in r.stderr and "interrupted" not in r.stderr, r.stderr
    assert c.read("other.l") == b'{"seq":1}\n'
    # Refused before anything was created: no state, no rejects file.
    assert not os.path.exists(c.path("s.db")) and not os.path.exists(c.path("rejects")), os.listdir(c.work)
    assert c.run("p.perk", "a.jsonl", state="s.db").returncode == 0
    r = c.run("p.perk", "b.jsonl", state="s.db", ledger="new.l")
    assert r.returncode == 2 and "does not continue the state" in r.stderr, r.stderr
    assert c.read("new.l") == b"", "a refused ledger was written"
    r = subprocess.run([c.perk, "run", c.path("p.perk"), "--events", c.path("a.jsonl"), "--engine", c.engine,
                        "--state", c.path("s.db")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 2 and "--ledger FILE and --rejects FILE" in r.stderr, r.stderr
    with open(c.path("s.db"), "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 2 and "in use" in r.stderr, r.stderr


def case_tentative_tail(c):
    """Bytes an interrupted run wrote past its last commit are reproduced, never replaced."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 60))
    c.write("b.jsonl", events(100, 60, day0=12))
    assert c.run("p.perk", "a.jsonl", ledger="ref.l", rejects="ref.r").returncode == 0
    env = dict(os.environ, PERK_TEST_CRASH="after-write:2", PERK_COMMIT_RECORDS="20")
    args = [c.perk, "run", c.path("p.perk"), "--events", c.path("a.jsonl"), "--engine", c.engine, "--state",
            c.path("s.db"), "--ledger", c.path("ledger"), "--rejects", c.path("rejects")]
    r = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == -9, (r.returncode, r.stderr)
    committed = json.loads(c.state("stats").stdout)["ledger_bytes"]
    tail = c.read("ledger")
    assert len(tail) > committed, "the kill was meant to leave uncommitted bytes"
    # Another stream does not reproduce them: refused, nothing changed.
    r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 2 and "interrupted run" in r.stderr and f"to {committed} bytes" in r.stderr, r.stderr
    assert c.read("ledger") == tail
    # Nor does a changed program: refused before it upgrades the state.
    c.write("p2.perk", PROGRAM.replace("deposit.amount * 10%", "deposit.amount * 20%"))
    before = c.read("s.db")
    r = c.run("p2.perk", "a.jsonl", state="s.db")
    assert r.returncode == 2 and "only the program it ran can reproduce" in r.stderr, r.stderr
    assert c.read("ledger") == tail and c.read("s.db") == before
    # The stream it was interrupted in reproduces them and goes on.
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    assert c.read("ledger") == c.read("ref.l") and c.read("rejects") == c.read("ref.r")


def resume_at(c, program, lines, cut, between=None):
    """Runs `program` on lines[:cut], then on lines[cut:], against a fresh state s.db with its
    ledger and rejects; `between()` runs after the first part (to look at the stored state)."""
    for f in os.listdir(c.work):
        if f.startswith("s.db") or f in ("ledger", "rejects"):
            os.remove(c.path(f))
    c.write("a.jsonl", "".join(lines[:cut]))
    c.write("b.jsonl", "".join(lines[cut:]))
    for part in ("a.jsonl", "b.jsonl"):
        r = c.run(program, part, state="s.db")
        assert r.returncode == 0, r.stderr
        if part == "a.jsonl" and between:
            between()


def case_v02_client_series_resume(c):
    """v0.2 per-client budgets and keyed limits survive a resume at every record boundary."""
    golden = os.path.join(ROOT, "tests", "golden")
    for name in ("client_budgets", "keyed_limits", "segment_triggers"):
        with open(os.path.join(golden, name, "program.perk")) as f:
            c.write("v2.perk", f.read())
        with open(os.path.join(golden, name, "events.jsonl")) as f:
            lines = f.read().splitlines(keepends=True)
        with open(os.path.join(golden, name, "expected.jsonl"), "rb") as f:
            expected = f.read()
        for cut in range(1, len(lines)):
            resume_at(c, "v2.perk", lines, cut)
            assert c.read("ledger") == expected, f"{name}: resuming after line {cut} changes the ledger"


def case_v02_lots_resume(c):
    """C11: pending credits and lots survive a resume at every record boundary, across release
    and expiry dates, and `perk state S client ID` shows them with their dates."""
    cases = [os.path.join(ROOT, "tests", "golden", name) for name in
             ("lots_pending_expiring", "lots_debit_across", "lots_rollback", "lots_month_end")]
    cases.append(os.path.join(ROOT, "tests", "conformance", "011-expiry-pending"))
    seen_pending = seen_lot = False
    for case in cases:
        with open(os.path.join(case, "program.perk")) as f:
            c.write("lots.perk", f.read())
        with open(os.path.join(case, "events.jsonl")) as f:
            lines = f.read().splitlines(keepends=True)
        with open(os.path.join(case, "expected.jsonl"), "rb") as f:
            expected = f.read()
        for cut in range(1, len(lines)):
            def look():
                # What the first part left pending or in lots is in the stored client.
                nonlocal seen_pending, seen_lot
                s = c.state("client", "c1")
                if s.returncode == 0:
                    client = json.loads(s.stdout)
                    # (A state read without its program shows them only when the client has any.)
                    for p in client.get("pending_credits", []):
                        seen_pending = True
                        assert p["until"] > "2026" and p["seq"] >= 1, client
                        assert p["wallet"] in client["pending"], client
                    seen_lot = seen_lot or bool(client.get("lots"))
            resume_at(c, "lots.perk", lines, cut, between=look)
            assert c.read("ledger") == expected, f"{case}: resuming after line {cut} changes the ledger"
    assert seen_pending and seen_lot, "no cut left a pending credit or a lot in the state"
def case_v02_sends_resume(c):
    """v0.2 sends: a resume at every record boundary numbers and processes sends as one run
    does (clients first known through a send included), and the stream fed again through a
    pipe sends nothing again (sent ids are remembered)."""
    golden = os.path.join(ROOT, "tests", "golden")
    for name in ("send_day_tick", "send_chain_cap", "send_failure"):
        with open(os.path.join(golden, name, "program.perk")) as f:
            c.write("v2.perk", f.read())
        with open(os.path.join(golden, name, "events.jsonl")) as f:
            lines = f.read().splitlines(keepends=True)
        with open(os.path.join(golden, name, "expected.jsonl"), "rb") as f:
            expected = f.read()
        for cut in range(1, len(lines)):
            resume_at(c, "v2.perk", lines, cut)
            assert c.read("ledger") == expected, f"{name}: resuming after line {cut} changes the ledger"
        c.write("all.jsonl", "".join(lines))
        with open(c.path("all.jsonl")) as stdin:
            r = c.run("v2.perk", "-", state="s.db", stdin=stdin)
        assert r.returncode == 0 and c.read("ledger") == expected, f"{name}: fed again, the stream changed the ledger"


def case_v02_reversals_resume(c):
    """C10: what reversals remember survives a resume at every record boundary (aggregates,
    limits, budgets, sends, pending credits and lots): the ledger and rejects are those of one
    uninterrupted run; each reversal fed again after a restart is a duplicate, and the stream
    fed again through a pipe adds nothing."""
    cases = [os.path.join(ROOT, "tests", "golden", name) for name in
             ("reversal_aggregates", "reversal_atomic", "reversal_budgets", "reversal_sends_lots")]
    cases.append(os.path.join(ROOT, "tests", "conformance", "009-reversal"))
    reversals_accepted = 0
    for case in cases:
        with open(os.path.join(case, "program.perk")) as f:
            c.write("rev.perk", f.read())
        with open(os.path.join(case, "events.jsonl")) as f:
            lines = f.read().splitlines(keepends=True)
        # The reference: one uninterrupted run (009 is still an expected conformance failure,
        # so its expected.jsonl is not the reference here).
        c.write("all.jsonl", "".join(lines))
        r = c.run("rev.perk", "all.jsonl", ledger="ref.l", rejects="ref.r")
        assert r.returncode == 0, r.stderr
        # Rejects name lines of the file they came from: compared by their errors.
        errors = lambda data: [json.loads(l)["error"] for l in (data or b"").splitlines() if l.strip()]
        expected, expected_rejects = c.read("ref.l"), errors(c.read("ref.r"))
        reversals_accepted += expected.count(b'"reverses"')
        for cut in range(1, len(lines)):
            resume_at(c, "rev.perk", lines, cut)
            assert c.read("ledger") == expected, f"{case}: resuming after line {cut} changes the ledger"
            assert errors(c.read("rejects")) == expected_rejects, \
                f"{case}: resuming after line {cut} changes the rejects: {errors(c.read('rejects'))}"
        # Each reversal alone, fed again after the restart: a duplicate, nothing added.
        for n, line in enumerate(lines):
            if json.loads(line).get("type") != "reversal":
                continue
            c.write("again.jsonl", line)
            r = c.run("rev.perk", "again.jsonl", state="s.db")
            assert r.returncode == 0, r.stderr
            assert c.read("ledger") == expected, f"{case}: the reversal on line {n + 1} fed again changed the ledger"
        with open(c.path("all.jsonl")) as stdin:
            r = c.run("rev.perk", "-", state="s.db", stdin=stdin)
        assert r.returncode == 0 and c.read("ledger") == expected, f"{case}: fed again, the stream changed the ledger"
    assert reversals_accepted > 0, "no case reversed anything"


def case_v02_reversals_upgrade(c):
    """C10: a program upgrade maps what reversals remember by name: an event whose type,
    rules and wallets are kept stays reversible (its counter-entries answer what it did);
    one whose rule is gone is no longer (a note, then a reject); events accepted after the
    upgrade are remembered and reversed across a restart as usual."""
    program = """program "Rev upgrade"
currency USD
event deposit { amount: money }
wallet cash: money
rule fund
  on deposit
  then credit cash deposit.amount
end
"""
    dep = lambda i, day: json.dumps({"type": "deposit", "id": f"d{i}", "client": "c1",
                                     "time": f"2026-03-{day:02d}T10:00:00Z", "amount": "10"}) + "\n"
    rev = lambda i, of, day: json.dumps({"type": "reversal", "id": f"r{i}", "client": "c1",
                                         "time": f"2026-03-{day:02d}T11:00:00Z", "of": f"d{of}"}) + "\n"
    last_entry = lambda: json.loads(c.read("ledger").splitlines()[-1])
    c.write("p.perk", program)
    c.write("a.jsonl", dep(1, 1) + dep(2, 2))
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    # Rule logic changed, names kept: d1 is reversed as it was credited (10, not 20).
    c.write("p.perk", program.replace("deposit.amount\n", "deposit.amount * 2\n"))
    c.write("b.jsonl", dep(3, 3) + rev(1, 1, 3))
    r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 0 and "can no longer be reversed" not in r.stderr, r.stderr
    e = last_entry()
    assert e.get("reverses") and e["action"] == "debit" and e["amount"] == "10.00", e
    # The rule renamed: d2 and d3 can no longer be reversed (d1 is reversed already).
    c.write("p.perk", program.replace("rule fund", "rule pay"))
    c.write("c.jsonl", rev(2, 2, 4))
    r = c.run("p.perk", "c.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    assert "reversals: 2 events accepted before the upgrade can no longer be reversed" in r.stderr, r.stderr
    assert b"or an event accepted before a program upgrade" in c.read("rejects"), c.read("rejects")
    # After the upgrade, as usual, across a restart.
    c.write("d.jsonl", dep(4, 5))
    c.write("e.jsonl", rev(3, 4, 6))
    for f in ("d.jsonl", "e.jsonl"):
        r = c.run("p.perk", f, state="s.db")
        assert r.returncode == 0, r.stderr
    e = last_entry()
    assert e.get("reverses") and e["rule"] == "pay" and e["amount"] == "10.00", e

    # All or nothing across sends: the sender maps, but the rule of the event it sent is gone.
    sends = """program "Rev send"
currency USD
event deposit { amount: money }
event bonus_for { amount: money }
wallet cash: money
rule fund
  on deposit
  then
    credit cash deposit.amount
    send bonus_for to deposit.client { amount: deposit.amount }
end
rule bonus
  on bonus_for
  then credit cash 1 USD
end
"""
    for f in os.listdir(c.work):
        if f.startswith("s.db") or f in ("ledger", "rejects"):
            os.remove(c.path(f))
    c.write("p.perk", sends)
    c.write("a.jsonl", dep(1, 1))
    r = c.run("p.perk", "a.jsonl", state="s.db")
    assert r.returncode == 0 and b'"action":"send"' in c.read("ledger"), r.stderr
    c.write("p.perk", sends.replace("rule bonus", "rule extra"))
    c.write("b.jsonl", rev(1, 1, 2))
    r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    assert "reversals: 1 events accepted before the upgrade can no longer be reversed" in r.stderr, r.stderr
    assert b'"reverses"' not in c.read("ledger"), c.read("ledger")


def hold_until_locked(path, proc, timeout=30):
    """Waits until another process holds `path`'s lock (flock), or `proc` has ended."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(path):
            with open(path, "rb") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(f, fcntl.LOCK_UN)
                except BlockingIOError:
                    return True
        time.sleep(0.02)
    return False


def case_two_runs_on_one_ledger(c):
    """A second process with another state but the same ledger is refused at start; nothing written."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 12))
    args = [c.perk, "run", c.path("p.perk"), "--events", "-", "--engine", c.engine, "--state", c.path("a.db"),
            "--ledger", c.path("ledger"), "--rejects", c.path("a.rejects")]
    first = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert hold_until_locked(c.path("ledger"), first), "the first run never locked its ledger"
        before = c.read("ledger")
        r = c.run("p.perk", "a.jsonl", state="b.db", rejects="b.rejects")
        assert r.returncode == 2 and "is in use by another perk process" in r.stderr, r.stderr
        assert c.read("ledger") == before, "the refused run wrote the ledger"
        assert not os.path.exists(c.path("b.db")) and not os.path.exists(c.path("b.rejects")), os.listdir(c.work)
        # The same with the first one's rejects file as the second's.
        r = c.run("p.perk", "a.jsonl", state="b.db", ledger="b.ledger", rejects="a.rejects")
        assert r.returncode == 2 and "rejects file" in r.stderr and "in use" in r.stderr, r.stderr
        _, err = first.communicate(c.read("a.jsonl").decode(), timeout=60)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # Once the first has finished, the file is free again (for the state that wrote it).
    c.write("b.jsonl", events(12, 12, day0=4))
    r = c.run("p.perk", "b.jsonl", state="a.db", rejects="a.rejects")
    assert r.returncode == 0, r.stderr


def committed_ledger(c, records=60):
    """A state s.db whose ledger was committed in many small commits; returns the ledger's lines."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, records))
    c.write("b.jsonl", events(100, 12, day0=20))
    env = dict(os.environ, PERK_COMMIT_RECORDS="7")
    args = [c.perk, "run", c.path("p.perk"), "--events", c.path("a.jsonl"), "--engine", c.engine, "--state",
            c.path("s.db"), "--ledger", c.path("ledger"), "--rejects", c.path("rejects")]
    r = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0, r.stderr
    v = c.state("verify", "--ledger", c.path("ledger"), "--rejects", c.path("rejects"))
    assert v.returncode == 0 and v.stdout.startswith("ok: "), (v.stdout, v.stderr)
    lines = c.read("ledger").splitlines(keepends=True)
    assert f"{len(c.read('ledger'))} bytes in {len(lines)} lines" in v.stdout, v.stdout
    return lines


def line_range(text):
    """The `lines A..B` a refusal names."""
    import re
    m = re.search(r"lines (\d+)\.\.(\d+)", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def case_edited_ledger_is_refused(c):
    """A byte changed in the middle of a committed ledger is found at restart and by `perk state verify`."""
    lines = committed_ledger(c)
    k = len(lines) // 2  # 0-based: line k + 1
    # One digit changed, in place: the file keeps its length and every other byte.
    line = bytearray(lines[k])
    at = max(i for i, ch in enumerate(line) if chr(ch).isdigit())
    line[at] = ord("1") if line[at] != ord("1") else ord("2")
    lines[k] = bytes(line)
    with open(c.path("ledger"), "wb") as f:
        f.write(b"".join(lines))
    before = {name: c.read(name) for name in ("ledger", "rejects", "s.db")}
    r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 2 and "does not hold what the state" in r.stderr and "edited" in r.stderr, r.stderr
    first, last = line_range(r.stderr)
    assert first <= k + 1 <= last, (k + 1, r.stderr)
    assert last - first < 20, r.stderr
    assert {name: c.read(name) for name in before} == before, "a refused run changed the files"
    for args in (("s.db", "verify"), ("verify", "s.db")):  # both orders are taken
        v = subprocess.run([c.perk, "state", *[c.path(a) if a == "s.db" else a for a in args], "--ledger",
                            c.path("ledger")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert v.returncode == 1 and "does not hold what the state" in v.stderr, (v.stdout, v.stderr)
        assert line_range(v.stderr) == (first, last), v.stderr


def case_truncated_ledger_is_refused(c):
    """A committed ledger cut short is refused, naming the line where it stops."""
    lines = committed_ledger(c)
    keep = b"".join(lines[:40]) + lines[40][:5]
    with open(c.path("ledger"), "wb") as f:
        f.write(keep)
    r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 2 and "truncated in line 41" in r.stderr, r.stderr
    assert c.read("ledger") == keep
    v = c.state("verify", "--ledger", c.path("ledger"))
    assert v.returncode == 1 and "truncated in line 41" in v.stderr, v.stderr


def case_swapped_ledger_is_refused(c):
    """Another run's ledger of the same length, or an older state's checks: placed or taken as they are."""
    lines = committed_ledger(c)
    other = bytearray(b"".join(lines))
    other[10] = ord("X")
    with open(c.path("other.l"), "wb") as f:
        f.write(bytes(other))
    v = c.state("verify", "--ledger", c.path("other.l"))
    assert v.returncode == 1 and "bytes 0.." in v.stderr and "lines 1.." in v.stderr, v.stderr
    # A state written before the checks (no checkpoints, no hashes) opens, and records them from then on.
    db = sqlite3.connect(c.path("s.db"))
    db.execute("DROP TABLE output_check")
    db.execute("DELETE FROM meta WHERE key IN ('ledger_hash', 'rejects_hash')")
    db.commit()
    db.close()
    v = c.state("verify", "--ledger", c.path("ledger"))
    assert v.returncode == 0 and "before output checksums" in v.stdout, (v.stdout, v.stderr)
    r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 0, r.stderr
    v = c.state("verify", "--ledger", c.path("ledger"))
    assert v.returncode == 0 and "checkpoints compared" in v.stdout, (v.stdout, v.stderr)


def case_damaged_client_blob_is_refused(c):
    """A client whose stored bytes were damaged is refused by name, never loaded."""
    c.write("p.perk", PROGRAM)
    c.write("a.jsonl", events(0, 30))
    assert c.run("p.perk", "a.jsonl", state="s.db").returncode == 0
    db = sqlite3.connect(c.path("s.db"))
    seq, data = db.execute("SELECT seq, data FROM client_log ORDER BY seq LIMIT 1").fetchone()
    data = bytearray(data)
    # The row's first client: its index (0), version 4, a 4-byte length, then its fields: the id first.
    assert data[0] == 0 and data[1] == 4, data[:8]
    id_len = data[6]
    client = data[7:7 + id_len].decode()
    data[7 + id_len + 1] ^= 0x01  # a byte of what follows the id
    db.execute("UPDATE client_log SET data = ? WHERE seq = ?", (bytes(data), seq))
    db.commit()
    db.close()
    before = c.read("s.db")
    c.write("b.jsonl", events(100, 12, day0=20))
    r = c.run("p.perk", "b.jsonl", state="s.db")
    assert r.returncode == 2 and f'client "{client}"' in r.stderr and "does not match its checksum" in r.stderr, r.stderr
    assert c.read("s.db") == before
    s = c.state("client", client)
    assert s.returncode == 2 and "does not match its checksum" in s.stderr, s.stderr


CASES = [case_resume_with_more, case_until, case_state_client_and_stats, case_upgrade_keeps,
         case_upgrade_refuses_loss, case_refuses_foreign_files, case_outputs_must_continue, case_tentative_tail,
         case_recovers_an_interrupted_write, case_v02_client_series_resume, case_v02_lots_resume,
         case_v02_sends_resume, case_v02_reversals_resume,
         case_v02_reversals_upgrade, case_two_runs_on_one_ledger, case_edited_ledger_is_refused,
         case_truncated_ledger_is_refused, case_swapped_ledger_is_refused, case_damaged_client_blob_is_refused,
         case_upgrade_rule_rename]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    ap.add_argument("--engine", default="interp")
    ap.add_argument("--case", action="append", help="run only the cases with this name (repeatable)")
    a = ap.parse_args()
    perk = os.path.abspath(a.perk)
    passed = failed = 0
    for engine in a.engine.split(","):
        for case in CASES:
            if a.case and case.__name__ not in a.case:
                continue
            work = tempfile.mkdtemp(prefix="perk-state-")
            try:
                case(Case(perk, engine, work))
                passed += 1
                print(f"ok   [{engine}] {case.__name__}")
            except AssertionError as e:
                failed += 1
                print(f"FAIL [{engine}] {case.__name__}: {case.__doc__}\n     {e}")
            finally:
                shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
