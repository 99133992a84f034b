#!/usr/bin/env python3
"""Writes events.jsonl for the chargeback example: seven forex clients, March to April 2026.

Fixed seed, standard library only; run it again after changing it and review the diff.
Planted on purpose: a chargeback after part of the bonus was traded away (the counter-debit
comes up short), one after all of it was (it takes 0.00), a second deposit refused by the
once-per-client limit and a third one paid after the chargeback reopened it, a deposit
skipped by the exhausted budget and a later one paid from what a chargeback gave back, a
chargeback of a deposit too small for a bonus, a busted trade (its bonus use given back),
and four rejected reversals: an unknown id, a deposit older than 30 days, a deposit already
charged back, another client's deposit. Prints the rejected lines for case.json.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(1807)
START = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
events = []  # (time, record)
serial = 0


def at(day, hour=None):
    return START + dt.timedelta(days=day, hours=hour if hour is not None else rng.randint(7, 20),
                                minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))


def add(kind, client, when, **fields):
    global serial
    serial += 1
    rid = f"{kind[0]}-{serial:04d}"
    events.append((when, {"type": kind, "id": rid, "client": client, **fields}))
    return rid


def deposit(client, day, amount):
    return add("deposit", client, at(day), amount=amount)


def trade(client, day, lots):
    return add("trade", client, at(day), symbol=rng.choice(["EURUSD", "GBPUSD", "XAUUSD", "USDJPY"]),
               lots=lots, commission=f"{float(lots) * 7:.2f}")


def reversal(client, day, of, bad=None):
    rid = add("reversal", client, at(day, 21), of=of)
    if bad:
        events[-1][1]["_bad"] = bad
    return rid


ana1 = deposit("ana", 0, "1000.00")            # 200 bonus
ben1 = deposit("ben", 1, "500.00")             # 100 bonus
chen1 = deposit("chen", 2, "800.00")           # 160 bonus: 460 of 600 used
deposit("dara", 3, "1000.00")                  # asks 200, 140 left: skipped
fay1 = deposit("fay", 0, "80.00")              # too small
for day, lots in [(1, "1.5"), (3, "2.5"), (6, "0.8"), (8, "2.2")]:
    trade("ana", day, lots)                    # 7 lots: 35 USD of her bonus
deposit("ana", 5, "200.00")                    # once per client: nothing
for day in range(2, 11):
    trade("ben", day, f"{rng.randint(20, 40) / 10:.1f}")  # more than his 100 USD
reversal("ana", 10, ana1)                      # takes back 165, short 35
reversal("ben", 12, ben1)                      # takes back 0.00, short 100
deposit("dara", 13, "1200.00")                 # 200 from what ana's chargeback gave back
deposit("ana", 15, "300.00")                   # the limit reopened: 60
eli1 = deposit("eli", 16, "60.00")
reversal("eli", 18, eli1)                      # no bonus to take back: risk is told anyway
deposit("gus", 20, "900.00")                   # asks 180, 40 left: skipped
busted = None
for day in range(3, 40, 2):
    for c in ["chen", "dara", "gus"]:
        if rng.random() < 0.5:
            t = trade(c, day, f"{rng.randint(1, 30) / 10:.1f}")
            if c == "chen" and day >= 21 and busted is None:
                busted = t
reversal("chen", 26, busted)                   # a busted trade: its bonus use is given back
reversal("gus", 22, "d-9999", bad="unknown")
reversal("fay", 34, fay1, bad="too old")       # 34 days after the deposit
reversal("ana", 24, ana1, bad="already reversed")
reversal("dara", 25, chen1, bad="another client's")

events.sort(key=lambda e: e[0])
rows, rejected = [], []
for n, (when, r) in enumerate(events, 1):
    r = {"type": r["type"], "id": r["id"], "client": r["client"], "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
         **{k: v for k, v in r.items() if k not in ("type", "id", "client")}}
    if r.pop("_bad", None):
        rejected.append(n)
    rows.append(r)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
print(f"{len(rows)} records; rejected lines: {rejected}")
