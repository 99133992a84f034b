#!/usr/bin/env python3
"""Writes events.jsonl for forex_winback: ten clients, January to June 2026, and a closing
tick on 10 July.

Fixed seed, standard library only. Each client trades on a schedule of active and quiet
periods and deposits now and then. Planted: clients who go quiet and come back with a
deposit inside the offer window, one who deposits too late, one whose first deposit in the
window is too small, one who never answers (the offer lapses, and a second one comes 60 days
later), two win-backs close together that the 30-day budget cannot both pay (a skip; the
offer stays open), one at risk twice with a return in between, steady traders who are never at risk,
occasional traders who never reach ten trades, a deposit with an amount of "" (rejected) and
a trade sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(909)
START = dt.date(2026, 1, 5)
DAYS = 177
rows = []


def at(day):
    d = START + dt.timedelta(days=day)
    return dt.datetime(d.year, d.month, d.day, rng.randint(6, 21), rng.randint(0, 59), rng.randint(0, 59),
                       tzinfo=dt.timezone.utc)


def trade(c, day):
    rows.append({"type": "trade", "client": c, "time": at(day), "symbol": rng.choice(["EURUSD", "GBPUSD", "XAUUSD", "USDJPY"]),
                 "lots": f"{rng.randint(10, 300) / 100:.2f}"})


def deposit(c, day, amount):
    rows.append({"type": "deposit", "client": c, "time": at(day), "amount": amount})


# (client, name, active periods as (first day, last day), typical deposit, extra deposits (day, amount))
DAILY = {"w02"}   # trades every day while active
clients = [
    ("w01", "Alexei", [(0, 55), (78, 176)], 1500, [(77, "1200.00")]),     # back inside the window
    ("w02", "Beatriz", [(0, 50)], 800, []),                                # never answers
    ("w03", "Cyrus", [(0, 60)], 3000, [(100, "2500.00")]),                 # deposits too late
    ("w04", "Dalia", [(10, 70)], 600, [(88, "50.00"), (92, "200.00")]),    # too small, then enough
    ("w05", "Erik", [(0, 176)], 1000, []),                                 # steady
    ("w06", "Fenna", [(0, 12)], 400, []),                                  # too few trades to matter
    ("w07", "Goran", [(0, 30), (52, 110), (150, 176)], 2000, [(47, "900.00"), (127, "1000.00")]),  # twice
    ("w08", "Hala", [(20, 80), (100, 176)], 5000, [(98, "5000.00")]),
    ("w09", "Ilya", [(0, 90)], 250, [(108, "300.00")]),
    ("w10", "Jun", [(30, 176)], 700, []),
]
for i, (c, name, periods, typical, extra) in enumerate(clients):
    rows.append({"type": "profile", "client": c, "name": name,
                 "time": dt.datetime(2026, 1, 5, 5, i, tzinfo=dt.timezone.utc)})
    for first, last in periods:
        day = first
        while day <= last:
            trade(c, day)
            day += 1 if c in DAILY else rng.randint(1, 4)
        for day in range(first + 2, last, 25):
            deposit(c, day, f"{typical * rng.uniform(0.6, 1.4):.2f}")
    for day, amount in extra:
        deposit(c, day, amount)

rows.sort(key=lambda r: r["time"])
for n, r in enumerate(rows, 1):
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
    if r["type"] != "profile":
        r["id"] = f"{r['type'][:3]}-{n:05d}"
rows.insert(150, {"type": "deposit", "id": "dep-empty", "client": "w05", "time": rows[149]["time"], "amount": ""})
rows.insert(301, dict(rows[300]))
rows.append({"type": "tick", "time": "2026-07-10T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
