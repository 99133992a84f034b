#!/usr/bin/env python3
"""Writes events.jsonl for forex_volume_tiers: seven traders, January to June 2026, and a
closing tick at the end of August that lets the holds run out.

Fixed seed, standard library only. Trading follows weekdays (no trades on Saturday and
Sunday). Planted: a trader who rises to VIP, slows down (VIP held for 60 days) and stops; a
steady trader near the Gold line; a Silver trader who dips below 20 lots (no hold: down at
once); a one-week burst to Gold that then lives on its hold; lots with three decimals
(rejected: they are decimals with at most 6 places, so 0.125 is fine, but "1/2" is not) and a
trade sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(77)
START = dt.date(2026, 1, 5)   # a Monday
DAYS = 177
rows = []
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "EURGBP", "AUDUSD", "USDCHF", "GBPJPY"]


def trade(client, day, lots):
    d = START + dt.timedelta(days=day)
    t = dt.datetime(d.year, d.month, d.day, rng.randint(6, 20), rng.randint(0, 59), rng.randint(0, 59),
                    tzinfo=dt.timezone.utc)
    rows.append({"type": "trade", "id": f"ord-{len(rows) + 1:06d}", "client": client, "time": t,
                 "symbol": rng.choice(SYMBOLS), "lots": f"{lots:.2f}"})


def trading_day(day):
    return (START + dt.timedelta(days=day)).weekday() < 5


def lots_per_day(client, day):
    """How many lots a trader trades on a weekday."""
    if client == "v01":   # VIP rise, slow down, stop
        return 1.5 if day < 28 else 22 if day < 63 else 6 if day < 110 else 0
    if client == "v02":   # near the Gold line
        return rng.uniform(3.5, 5.8)
    if client == "v03":   # Silver, dips
        return rng.uniform(0.8, 1.6) if (day // 30) % 2 == 0 else rng.uniform(0.2, 0.6)
    if client == "v04":   # one big week in March
        return 26 if 56 <= day < 63 else 0.3 if day < 56 else 0
    if client == "v05":   # small
        return rng.uniform(0.05, 0.3)
    if client == "v06":   # Gold, now and then VIP
        return rng.uniform(6, 12) if day < 120 else rng.uniform(18, 24)
    if client == "v07":   # joins in April
        return 0 if day < 95 else rng.uniform(8, 16)
    return 0


names = {"v01": "Konstantin", "v02": "Leila", "v03": "Marco", "v04": "Nadia", "v05": "Olu", "v06": "Pia",
         "v07": "Quentin"}
for i, (c, n) in enumerate(names.items()):
    rows.append({"type": "profile", "client": c, "name": n,
                 "time": dt.datetime(2026, 1, 5, 5, i, tzinfo=dt.timezone.utc)})
for day in range(DAYS):
    if not trading_day(day):
        continue
    for c in names:
        total = lots_per_day(c, day)
        if total <= 0:
            continue
        # Split the day's lots into 1-4 orders.
        n = 1 if total < 2 else rng.randint(2, 4)
        for _ in range(n):
            trade(c, day, max(total / n * rng.uniform(0.7, 1.3), 0.01))

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(300, {"type": "trade", "id": "ord-frac", "client": "v02", "time": rows[299]["time"], "symbol": "EURUSD",
                  "lots": "1/2"})
rows.insert(501, dict(rows[500]))
rows.append({"type": "tick", "time": "2026-08-31T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
