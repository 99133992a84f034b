#!/usr/bin/env python3
"""Writes events.jsonl for the expiring-points example: four forex clients, 15 months.

Fixed seed, standard library only; run it again after changing it and review the diff.
Planted on purpose: points credited on 31 January (their lot expires 12 months later, on
31 January), a client who stops trading (all his points expire), redemptions that span several
lots, redemptions refused for lack of points, logins while a bonus is on hold.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(18)
START = dt.datetime(2025, 1, 6, tzinfo=dt.timezone.utc)
rows = []


def add(kind, client, time, **fields):
    rows.append({"type": kind, "id": f"{kind[0]}-{client}-{len(rows) + 1:04d}", "client": client,
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"), **fields})


clients = ["ana", "ben", "chen", "dara"]
events = []
for day in range(0, 470, 3):
    when = START + dt.timedelta(days=day)
    for c in clients:
        if c == "ben" and day > 60:
            continue  # ben stops trading: his points expire a year after his last trades
        if rng.random() < 0.6:
            events.append((when + dt.timedelta(hours=rng.randint(8, 20), minutes=rng.randint(0, 59)), "trade", c,
                           {"symbol": rng.choice(["EURUSD", "XAUUSD", "BTCUSD"]), "lots": f"{rng.randint(1, 40) / 10:.1f}"}))
        if rng.random() < 0.12:
            events.append((when + dt.timedelta(hours=rng.randint(8, 20)), "deposit", c,
                           {"amount": f"{rng.choice([50, 100, 250, 1000, 2500])}.{rng.randint(0, 99):02d}"}))
        if c != "dara" and rng.random() < 0.08:  # dara never redeems: her lots all expire
            events.append((when + dt.timedelta(hours=rng.randint(8, 20)), "redeem", c, {"points": rng.choice([20, 50, 120, 400])}))
        if rng.random() < 0.1:
            events.append((when + dt.timedelta(hours=rng.randint(8, 20)), "login", c, {}))
# The 31st: a lot credited on 31 January expires on 31 January a year later.
events.append((dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.timezone.utc), "trade", "dara", {"symbol": "EURUSD", "lots": "2.5"}))
events.sort(key=lambda e: e[0])
for when, kind, c, fields in events:
    add(kind, c, when, **fields)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
