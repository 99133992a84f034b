#!/usr/bin/env python3
"""Crash test for durable state: `perk run --state` killed at random moments resumes exactly.

usage: crash_test.py --perk build/perk [--engine interp[,jit]] [--records 200000] [--kills 6]
                     [--seed 1] [--programs forex,lots] [--keep DIR]

Programs: `forex` is bench/forex.perk; `lots` is the same with points that expire after 10
days and welcome bonuses pending for 7 days (C11), so kills also land among releases and
expiries and the restarts must carry lots and pending credits over. `reversals` is `lots` with
an `on deposit reversed` rule over a 45-day stream where about 2% of deposits and trades are
reversed (C10), some of them events that sent events or whose bonus is still pending, some
twice or past the 30-day horizon: the restarts must carry what reversals remember over, and
drop it past the horizon as one run does.

For each engine: generates a deterministic stream of forex records (bench/gen_events.py) with
some malformed records, blank lines and re-sent records mixed in, runs it once without state
as the oracle, then runs it with --state and SIGKILLs the process again and again: at chosen
points inside a commit (PERK_TEST_CRASH: mid-write of the ledger and rejects, after the
outputs are written, just before and just after the transaction commits) and at random
moments. After every kill the ledger and rejects files must be prefixes of the oracle's; after
the last, uninterrupted restart they must equal it byte for byte. Then the whole stream is fed
again, from the same file (continued by position: nothing read) and through a pipe (every id
is a duplicate: no effect). Prints `N passed, N failed`.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOREX = os.path.join(ROOT, "bench", "forex.perk")
PROGRAM = FOREX  # main() writes the forex programme with the rules below into the work directory
# [v0.2] Sends (C9): large deposits send an event to the depositor's own account, whose rule
# credits points; so the state must keep sent ids (a stream fed again sends nothing again) and
# a resumed run must number and process sends exactly as one uninterrupted run.
SEND_RULES = '''
event large_deposit { by: client, amount: money }

rule flag_large "Large deposits are sent on as their own event"
  on deposit
  when deposit.amount >= 1_000 USD
  limit 3 per client within 30 days
  then send large_deposit to deposit.client { by: client.id, amount: deposit.amount }
end

rule large_points
  on large_deposit
  then credit points floor(large_deposit.amount / 100 USD)
end
'''
CRASH_POINTS = ["mid-ledger", "after-write", "before-commit", "after-commit", "mid-rejects"]


REVERSAL_RULES = '''
rule chargeback_report "Reversed deposits are reported with what is left"
  on deposit reversed
  then emit "deposit_reversed" { amount: deposit.amount, hi: highest(deposit.amount within 30 days),
                                 n: count(deposit within 30 days) }
end
'''


def make_stream(path, records, seed, days=20, reversals=False):
    """The generated stream, with rejects, duplicates and blank lines mixed in; with
    `reversals`, reversal records too."""
    raw = path + ".raw"
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_events.py"), "--records", str(records),
                    "--clients", str(max(records // 10, 10)), "--days", str(days), "--seed", str(seed), "--out", raw],
                   check=True)
    rng = random.Random(seed)
    recent = []  # (id, client) of events, for reversals to name
    with open(raw) as f, open(path, "w") as out:
        previous = None
        for n, line in enumerate(f):
            out.write(line)
            if reversals:
                rec = json.loads(line)
                if rec.get("type") in ("deposit", "trade"):
                    recent.append((rec["id"], rec["client"]))
                if recent and rng.random() < 0.02:
                    # Mostly a recent event; now and then one from the start (past the horizon
                    # late in the stream), and the same event twice (already reversed).
                    pick = recent[0] if rng.random() < 0.02 else recent[max(0, len(recent) - rng.randint(1, 3000))]
                    for _ in range(2 if rng.random() < 0.05 else 1):
                        out.write(json.dumps({"type": "reversal", "id": f"r{n}_{_}", "client": pick[1],
                                              "time": rec["time"], "of": pick[0]}) + "\n")
            if n % 997 == 500:
                # Money with three decimals: rejected, and not remembered as seen.
                rec = json.loads(line)
                out.write(json.dumps({"type": "deposit", "id": f"bad{n}", "client": rec.get("client", "c1"),
                                      "time": rec["time"], "amount": "10.001"}) + "\n")
            if n % 1499 == 700 and previous and '"id"' in previous:
                out.write(previous)  # a re-sent record: a duplicate
            if n % 4001 == 3:
                out.write("\n" if rng.random() < 0.5 else "   \n")
            previous = line
    os.remove(raw)


def run(perk, args, env=None, stdin=None):
    return subprocess.run([perk] + args, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}{': ' + detail if detail else ''}")
        return ok


def lots_program(path):
    """bench/forex.perk with expiring points and pending welcome bonuses (C11)."""
    with open(PROGRAM, encoding="utf-8") as f:
        text = f.read()
    for old, new in (("wallet points: int\n", "wallet points: int expires after 10 days\n"),
                     ("credit bonus min(deposit.amount * welcome_rate, welcome_cap)\n",
                      "credit bonus min(deposit.amount * welcome_rate, welcome_cap) pending 7 days\n")):
        assert old in text, old
        text = text.replace(old, new)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def reversals_program(path):
    """The lots programme with an `on deposit reversed` rule (C10)."""
    lots_program(path)
    with open(path, "a", encoding="utf-8") as f:
        f.write(REVERSAL_RULES)
    return path


def crash_engine(perk, engine, events, work, kills, rng, checks, program=PROGRAM, name="forex"):
    tag = f"[{engine}]" if name == "forex" else f"[{engine} {name}]"
    ref_ledger, ref_rejects = os.path.join(work, "ref.ledger"), os.path.join(work, "ref.rejects")
    start = time.monotonic()
    r = run(perk, ["run", program, "--events", events, "--engine", engine, "--ledger", ref_ledger,
                   "--rejects", ref_rejects])
    full_time = time.monotonic() - start
    if not checks.check(f"{tag} uninterrupted run without state", r.returncode == 0, r.stderr.strip()):
        return
    want_ledger, want_rejects = read(ref_ledger), read(ref_rejects)
    if not checks.check(f"{tag} the stream makes effects, rejects, duplicates and sends",
                        len(want_ledger) > 0 and len(want_rejects) > 0 and " 0 duplicates" not in r.stderr
                        and b'"action":"send"' in want_ledger
                        and (name != "reversals" or b'"reverses"' in want_ledger),
                        r.stderr.strip()):
        return

    state, ledger, rejects = (os.path.join(work, n) for n in ("s.db", "ledger", "rejects"))
    args = ["run", program, "--events", events, "--engine", engine, "--state", state, "--ledger", ledger,
            "--rejects", rejects]
    env = dict(os.environ, PERK_COMMIT_RECORDS="4000")
    total_lines = sum(1 for _ in open(events, "rb"))

    plan = [("hook", p) for p in CRASH_POINTS] + [("random", None)] * kills
    rng.shuffle(plan)
    interrupted = {"hook": 0, "random": 0}
    prefix_ok = True
    for kind, point in plan:
        if kind == "hook":
            e = dict(env, PERK_TEST_CRASH=f"{point}:{rng.randint(1, 4)}")
            p = subprocess.Popen([perk] + args, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            _, err = p.communicate()
        else:
            # A moment within what is left of the stream, judged from the committed position.
            s = run(perk, ["state", state, "stats"]) if os.path.exists(state) else None
            done = json.loads(s.stdout)["input"]["line"] if s and s.returncode == 0 else 0
            left = max(0.05, full_time * (1 - done / total_lines))
            p = subprocess.Popen([perk] + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(0.02, left * 0.9))
            p.send_signal(signal.SIGKILL)
            _, err = p.communicate()
        if p.returncode == -signal.SIGKILL:
            interrupted[kind] += 1
        elif p.returncode != 0:
            checks.check(f"{tag} restart after a kill", False, f"exit {p.returncode}: {err.strip()}")
            return
        # Whatever a kill leaves in the outputs is a prefix of the truth: nothing wrong, ever.
        got_l, got_r = read(ledger), read(rejects)
        if not (want_ledger.startswith(got_l) and want_rejects.startswith(got_r)):
            prefix_ok = False
            print(f"     after a {kind} kill ({point}): the outputs are not prefixes of the oracle's")
    checks.check(f"{tag} after every kill the outputs are prefixes of the oracle's", prefix_ok)
    checks.check(f"{tag} the kills interrupted runs ({interrupted['hook']} at commit steps, "
                 f"{interrupted['random']} at random moments)",
                 interrupted["hook"] >= 3 and interrupted["random"] >= max(1, kills // 2), str(interrupted))

    r = run(perk, args, env=env)
    checks.check(f"{tag} the last restart finishes", r.returncode == 0, r.stderr.strip())
    got_l, got_r = read(ledger), read(rejects)
    checks.check(f"{tag} ledger equals the uninterrupted run's byte for byte", got_l == want_ledger,
                 f"{len(got_l)} bytes vs {len(want_ledger)}")
    checks.check(f"{tag} rejects equal the uninterrupted run's byte for byte", got_r == want_rejects,
                 f"{len(got_r)} bytes vs {len(want_rejects)}")

    s = run(perk, ["state", state, "stats"])
    stats = json.loads(s.stdout) if s.returncode == 0 else {}
    effects = want_ledger.count(b"\n")
    checks.check(f"{tag} perk state stats agrees with the ledger",
                 stats.get("seq") == effects and stats.get("ledger_bytes") == len(want_ledger)
                 and stats.get("rejects_bytes") == len(want_rejects), s.stdout.strip() + s.stderr.strip())

    r = run(perk, args, env=env)
    checks.check(f"{tag} the same file again reads nothing (continued by position)",
                 r.returncode == 0 and "perk: 0 records, 0 effects" in r.stderr and read(ledger) == want_ledger
                 and read(rejects) == want_rejects, r.stderr.strip())
    with open(events, "rb") as f:
        r = run(perk, args[:3] + ["-"] + args[4:], env=env, stdin=f)
    checks.check(f"{tag} the whole stream through a pipe adds no effect (dedup window)",
                 r.returncode == 0 and " 0 effects" in r.stderr and read(ledger) == want_ledger, r.stderr.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    ap.add_argument("--engine", default="interp", help="comma-separated engines, e.g. jit,interp")
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--kills", type=int, default=6, help="kills at random moments, besides one per commit step")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--programs", default="forex,lots,reversals", help="comma-separated: forex, lots, reversals")
    ap.add_argument("--keep", help="work in this directory and keep it")
    a = ap.parse_args()
    perk = os.path.abspath(a.perk)
    work = a.keep or tempfile.mkdtemp(prefix="perk-crash-")
    os.makedirs(work, exist_ok=True)
    checks = Checks()
    global PROGRAM
    PROGRAM = os.path.join(work, "program.perk")
    with open(FOREX) as f, open(PROGRAM, "w") as out:
        out.write(f.read() + SEND_RULES)
    try:
        programs = {"forex": PROGRAM, "lots": lots_program(os.path.join(work, "lots.perk")),
                    "reversals": reversals_program(os.path.join(work, "reversals.perk"))}
        streams = {}
        for name in a.programs.split(","):
            if name not in programs:
                ap.error(f"unknown program {name}: forex, lots or reversals")
            kind = "reversals" if name == "reversals" else "plain"
            if kind not in streams:
                streams[kind] = os.path.join(work, f"events-{kind}.jsonl")
                make_stream(streams[kind], a.records, a.seed, *((45, True) if kind == "reversals" else ()))
            for engine in a.engine.split(","):
                d = os.path.join(work, engine if name == "forex" else f"{engine}-{name}")
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                crash_engine(perk, engine, streams[kind], d, a.kills, random.Random(a.seed), checks, programs[name],
                             name)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
