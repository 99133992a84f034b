#!/usr/bin/env python3
"""Writes events.jsonl for forex_pairs: eight traders, 16 March to 15 May 2026.

Fixed seed, standard library only. Symbols come in three spellings: plain ("EURUSD"),
lower case from one bridge ("xauusd"), and with a ".pro" suffix for professional accounts.
Planted: gold trades before, during and after April, the gold-rush budget running out late in
April (skips), exotic trades under the minimum size (no bonus) and twice (once), yen pairs,
traders who reach ten lots on the majors in a week, both metals within 30 days, a trade
without a symbol (rejected) and a trade sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(1234)
START = dt.date(2026, 3, 16)
DAYS = 61
rows = []

styles = {
    "g01": ("Aylin", ["XAUUSD", "XAUUSD", "XAGUSD", "EURUSD"], "", (0.2, 2.5), 0.8),
    "g02": ("Bruno", ["EURUSD", "GBPUSD", "USDJPY", "USDCHF"], ".pro", (0.5, 3.0), 0.9),
    "g03": ("Chen", ["USDJPY", "EURJPY", "GBPJPY", "AUDJPY"], "", (0.1, 1.5), 0.7),
    "g04": ("Dara", ["xauusd", "xagusd", "eurusd"], "lower", (0.3, 4.0), 0.6),
    "g05": ("Emil", ["EURUSD", "USDTRY", "USDZAR", "GBPUSD"], "", (0.05, 1.0), 0.5),
    "g06": ("Farah", ["XAUUSD", "GBPUSD", "EURGBP"], ".pro", (1.0, 5.0), 0.7),
    "g07": ("Goran", ["AUDUSD", "NZDUSD", "USDCAD"], "", (0.1, 0.8), 0.4),
    "g08": ("Hiro", ["USDMXN", "EURUSD", "USDJPY"], "", (0.05, 0.6), 0.5),
}


def spell(symbol, how):
    if how == "lower":
        return symbol.lower()
    return symbol + how


for i, (c, (name, symbols, how, (lo, hi), rate)) in enumerate(styles.items()):
    rows.append({"type": "profile", "client": c, "name": name,
                 "time": dt.datetime(2026, 3, 16, 5, i, tzinfo=dt.timezone.utc)})
    for day in range(DAYS):
        d = START + dt.timedelta(days=day)
        if d.weekday() >= 5 or rng.random() > rate:
            continue
        for _ in range(rng.randint(1, 3)):
            t = dt.datetime(d.year, d.month, d.day, rng.randint(6, 20), rng.randint(0, 59), rng.randint(0, 59),
                            tzinfo=dt.timezone.utc)
            rows.append({"type": "trade", "client": c, "time": t, "symbol": spell(rng.choice(symbols), how),
                         "lots": f"{rng.uniform(lo, hi):.2f}", "side": rng.choice(["buy", "sell"])})

rows.sort(key=lambda r: r["time"])
for n, r in enumerate(rows, 1):
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
    if r["type"] == "trade":
        r["id"] = f"tk-{n:05d}"
rows.insert(200, {"type": "trade", "id": "tk-nosym", "client": "g02", "time": rows[199]["time"], "lots": "1.00"})
rows.insert(351, dict(rows[350]))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
