#!/usr/bin/env python3
"""Writes events.jsonl for forex_weekend_crypto: 24 traders from 5 October to 29 November 2026,
chosen on New York's clock, across the end of daylight-saving time (1 November 2026, when 01:00
to 02:00 happens twice).

Fixed seed, standard library only. Planted, for the first three traders each weekend: a crypto
trade on Friday at 21:00 New York time (Saturday in UTC: no weekend reward), one on Saturday at
00:30, one on Sunday at 22:00 (Monday in UTC: still the weekend), two on Sunday evening (one
greeting a day); on 1 November trades at 01:30 before and after the clocks go back. Also a
trade with a commission in another currency's notation (rejected), a duplicate, and a tick at
the end that runs the last Monday's recap.
"""
import datetime as dt
import json
import os
import random
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
UTC = dt.timezone.utc
START, END = dt.date(2026, 10, 5), dt.date(2026, 11, 29)   # a Monday, a Sunday
CRYPTO = ["BTCUSD", "ETHUSD", "SOLUSD"]
FX = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD"]
rng = random.Random(1101)
rows = []


def add(local, client, symbol, lots, fold=0):
    t = local.replace(tzinfo=NY, fold=fold).astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%SZ") if rng.random() < 0.5 else t.astimezone(NY).isoformat()
    commission = f"{lots * (25 if symbol in CRYPTO else 7):.2f}"
    rows.append({"type": "trade", "id": None, "client": client, "time": text, "symbol": symbol,
                 "lots": f"{lots:g}", "commission": commission, "_t": t})


clients = [f"w{k + 1:02d}" for k in range(24)]
d = START
while d <= END:
    weekend = d.weekday() >= 5
    for c in clients:
        if rng.random() < (0.35 if weekend else 0.6):
            for _ in range(rng.randint(1, 3)):
                sym = rng.choice(CRYPTO) if weekend or rng.random() < 0.3 else rng.choice(FX)
                local = dt.datetime(d.year, d.month, d.day, rng.randrange(24), rng.randrange(60), rng.randrange(60))
                add(local, c, sym, rng.choice([0.1, 0.25, 0.5, 1, 2, 3]))
    if d.weekday() == 4:    # Friday: the planted weekend edges
        sat, sun = d + dt.timedelta(days=1), d + dt.timedelta(days=2)
        for c in clients[:3]:
            add(dt.datetime(d.year, d.month, d.day, 21, 0), c, "BTCUSD", 1)
            add(dt.datetime(sat.year, sat.month, sat.day, 0, 30), c, "ETHUSD", 1)
            add(dt.datetime(sun.year, sun.month, sun.day, 18, 5), c, "SOLUSD", 0.5)
            add(dt.datetime(sun.year, sun.month, sun.day, 19, 45), c, "BTCUSD", 0.5)
            add(dt.datetime(sun.year, sun.month, sun.day, 22, 0), c, "BTCUSD", 2)
    d += dt.timedelta(days=1)
for c in clients[:2]:
    add(dt.datetime(2026, 11, 1, 1, 30), c, "ETHUSD", 1, fold=0)   # 05:30Z, summer time
    add(dt.datetime(2026, 11, 1, 1, 30), c, "ETHUSD", 1, fold=1)   # 06:30Z, the hour again
rows.sort(key=lambda r: (r["_t"], r["client"]))
for k, r in enumerate(rows):
    r["id"] = f"x-{k + 1:05d}"
bad = dict(rows[60])
bad["id"], bad["commission"] = "x-bad", "12,50"
rows.insert(61, bad)
rows.insert(120, dict(rows[119]))
rows.append({"type": "tick", "time": "2026-11-30T12:00:00Z"})
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps({k: v for k, v in r.items() if k != "_t"}) + "\n")
print(f"gen.py: {len(rows)} records")
