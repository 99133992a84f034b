#!/usr/bin/env python3
"""Independent check of forex_monthly_tiers: the whole ledger re-computed from the spec in plain
Python, with the calendar in Europe/Berlin through Python's zoneinfo (no code shared with Perk).

usage: check.py                       compare the model with expected.jsonl
       check.py --large N [--perk P]  generate N records with gen.py into a temporary folder, run
                                      `perk run` with both engines, and compare each ledger with
                                      the model (the issue-17 check of a 100k-record Berlin stream)
"""
import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, ROUND_FLOOR, ROUND_HALF_UP
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.timezone.utc
TIERS = ["Standard", "Silver", "Gold"]
CENT = Decimal("0.01")


def cents(x):
    return x.quantize(CENT, rounding=ROUND_HALF_UP)  # half away from zero for the positive amounts here


def fmt_time(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", s):
        raise ValueError("bad time")
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def local_date(t):
    return t.astimezone(BERLIN).date()


def midnight(d):
    """The first instant of local day d (Berlin's changes are at 02:00/03:00, so midnight exists)."""
    return dt.datetime(d.year, d.month, d.day, tzinfo=BERLIN).astimezone(UTC)


def month_before(d):
    first = d.replace(day=1) - dt.timedelta(days=1)
    return (first.year, first.month)


def decimal_field(v, places):
    s = str(v)
    if not re.match(r"^-?\d+(\.\d+)?$", s) or ("." in s and len(s.split(".")[1]) > places):
        raise ValueError("bad number")
    return Decimal(s)


class Client:
    def __init__(self):
        self.name = "trader"
        self.volume = {}        # (year, month) local -> money traded
        self.trades = {}        # (year, month) local -> count
        self.tier = 0
        self.points = 0
        self.rebate = Decimal(0)
        self.asian = {}         # local date -> completed asian_session firings
        self.rebate_months = set()


def model(lines):
    """The ledger (without seq) and the rejected line numbers of an input stream."""
    ledger, rejected = [], []
    clients, order = {}, []
    seen = {}
    budget_used = {}            # (year, month) of the firing -> money credited by monthly_rebate
    clock = None

    def reevaluate(cid, c, today, e):
        prev = c.volume.get(month_before(today), Decimal(0))
        tier = 2 if prev >= 2_000_000 else 1 if prev >= 500_000 else 0
        if tier != c.tier:
            old, c.tier = c.tier, tier
            e(None, "tier", **{"from": TIERS[old], "to": TIERS[tier]})
            e("tier_news", "notify", template="monthly_tier",
              data={"name": c.name, "from": TIERS[old], "to": TIERS[tier], "since": today.isoformat()})

    def tick(d):
        at = midnight(d)
        for cid in order:
            c = clients[cid]
            e = lambda rule, action, **kw: ledger.append(dict(trigger=f"day:{d}", client=cid, time=fmt_time(at),
                                                              rule=rule, action=action, **kw))
            if d.day == 1:
                last = month_before(d)
                n = c.trades.get(last, 0)
                if n > 0:
                    y, m = last
                    e("statement", "notify", template="monthly_statement",
                      data={"name": c.name, "year": y, "month": m, "trades": n,
                            "volume": f"{c.volume.get(last, Decimal(0)):.2f}", "tier": TIERS[c.tier]})
                month = (d.year, d.month)
                if c.tier > 0 and month not in c.rebate_months:
                    rate = Decimal("0.00002") if c.tier == 2 else Decimal("0.00001")
                    amount = cents(c.volume.get(last, Decimal(0)) * rate)
                    left = Decimal(200) - budget_used.get(month, Decimal(0))
                    if amount > left:
                        e("monthly_rebate", "skip", reason="budget", wallet="rebate", amount=f"{amount:.2f}")
                    else:
                        if amount > 0:
                            budget_used[month] = budget_used.get(month, Decimal(0)) + amount
                            c.rebate += amount
                            e("monthly_rebate", "credit", wallet="rebate", amount=f"{amount:.2f}",
                              balance=f"{c.rebate:.2f}")
                        c.rebate_months.add(month)
            reevaluate(cid, c, d, e)

    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        r = json.loads(line)
        if "id" in r:
            key = json.dumps({k: v for k, v in r.items()}, sort_keys=True)
            if r["id"] in seen:
                if seen[r["id"]] != key:
                    rejected.append(n)
                continue  # a duplicate: skipped, the clock does not move
        try:
            t = parse_time(r["time"])
            if r["type"] == "trade":
                lots = decimal_field(r["lots"], 6)
                volume = decimal_field(r["volume"], 2)
        except (ValueError, KeyError):
            rejected.append(n)
            continue
        if clock is not None and t < clock:
            rejected.append(n)
            continue
        if "id" in r:
            seen[r["id"]] = key
        if clock is not None:
            d = local_date(clock) + dt.timedelta(days=1)
            while d <= local_date(t):
                tick(d)
                d += dt.timedelta(days=1)
        clock = t
        if r["type"] == "tick":
            continue
        cid = r["client"]
        if cid not in clients:
            clients[cid] = Client()
            order.append(cid)
        c = clients[cid]
        if r["type"] == "profile":
            if "name" in r:
                c.name = r["name"]
            continue
        e = lambda rule, action, **kw: ledger.append(dict(trigger=r["id"], client=cid, time=fmt_time(t),
                                                          rule=rule, action=action, **kw))
        today = local_date(t)
        month = (today.year, today.month)
        c.volume[month] = c.volume.get(month, Decimal(0)) + volume
        c.trades[month] = c.trades.get(month, 0) + 1
        pts = int((lots * (20 if c.tier == 2 else 10)).to_integral_value(rounding=ROUND_FLOOR))
        if pts > 0:
            c.points += pts
            e("points_per_lot", "credit", wallet="points", amount=pts, balance=c.points)
        if t.astimezone(BERLIN).hour < 6 and c.asian.get(today, 0) < 3:
            c.asian[today] = c.asian.get(today, 0) + 1
            c.points += 5
            e("asian_session", "credit", wallet="points", amount=5, balance=c.points)
        reevaluate(cid, c, today, e)
    return ledger, rejected


def load(path):
    with open(path, encoding="utf-8") as f:
        return [{k: v for k, v in json.loads(l).items() if k != "seq"} for l in f if l.strip()]


def compare(what, want, got):
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if w != g:
            return (f"{what}: entry {i + 1} of {len(got)} (model has {len(want)}) differs\n"
                    f"  model:  {json.dumps(w, ensure_ascii=False)}\n  ledger: {json.dumps(g, ensure_ascii=False)}")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", type=int, default=0)
    ap.add_argument("--perk", default=os.path.join(HERE, "..", "..", "build", "perk"))
    a = ap.parse_args()
    if not a.large:
        with open(os.path.join(HERE, "events.jsonl"), encoding="utf-8") as f:
            want, rejected = model(f.readlines())
        spec = json.load(open(os.path.join(HERE, "case.json"), encoding="utf-8"))
        errors = [compare("the whole ledger", want, load(os.path.join(HERE, "expected.jsonl")))]
        if sorted(spec.get("rejected_lines", [])) != rejected:
            errors.append(f"case.json rejects lines {spec.get('rejected_lines')}, the model rejects {rejected}")
        kinds = {(x["rule"], x["action"]) for x in want}
        for k in [(None, "tier"), ("monthly_rebate", "skip"), ("monthly_rebate", "credit"), ("asian_session", "credit")]:
            if k not in kinds:
                errors.append(f"the stream no longer reaches {k}")
        errors = [x for x in errors if x]
        if errors:
            print("FAIL forex_monthly_tiers: " + "\n".join(errors))
            sys.exit(1)
        print(f"ok   forex_monthly_tiers ({len(want)} ledger entries, {len(rejected)} rejects)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "--records", str(a.large),
                        "--clients", str(max(10, a.large // 50)), "--out", tmp], check=True)
        with open(os.path.join(tmp, "events.jsonl"), encoding="utf-8") as f:
            lines = f.readlines()
        start = time.time()
        want, rejected = model(lines)
        print(f"model: {len(lines)} records, {len(want)} ledger entries, {len(rejected)} rejects, "
              f"{time.time() - start:.1f} s")
        failed = 0
        for engine in ("jit", "interp"):
            ledger, rejects = os.path.join(tmp, f"{engine}.jsonl"), os.path.join(tmp, f"{engine}.rejects")
            start = time.time()
            subprocess.run([a.perk, "run", os.path.join(HERE, "program.perk"), "--events", os.path.join(tmp, "events.jsonl"),
                            "--ledger", ledger, "--rejects", rejects, "--engine", engine], check=True)
            took = time.time() - start
            err = compare(f"perk run --engine {engine}", want, load(ledger))
            got_rejected = sorted(json.loads(l)["line"] for l in open(rejects, encoding="utf-8") if l.strip())
            if not err and got_rejected != rejected:
                err = f"perk run --engine {engine}: rejected lines {got_rejected[:10]}, the model {rejected[:10]}"
            print(f"{'FAIL' if err else 'ok  '} {engine}: {len(want)} entries {'differ' if err else 'identical'} "
                  f"({took:.1f} s)" + (f"\n{err}" if err else ""))
            failed += bool(err)
        print(f"{2 - failed} passed, {failed} failed")
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
