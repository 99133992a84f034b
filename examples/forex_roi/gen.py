#!/usr/bin/env python3
"""Writes events.jsonl for forex_roi: twelve traders, 2 March to 30 April 2026.

Fixed seed, standard library only. Planted: traders who trade only demo or only tiny lots
or only micro lots under a hundredth (non-participants with and without revenue), deposits below and above the bonus minimum, the
bonus budget running out (skips), redemptions with and without enough points, a trader who
reaches Gold, trades without a commission (the default), and a duplicate record.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(18)
START = dt.date(2026, 3, 2)
DAYS = 60
rows = []

# name, trade rate per weekday, lots range, demo share, deposits
styles = {
    "r01": ("Ama", 0.9, (1.0, 3.0), 0.0, [900]),
    "r02": ("Ben", 0.6, (0.2, 1.5), 0.0, [250, 300]),
    "r03": ("Cleo", 0.5, (0.05, 0.8), 0.2, [150]),
    "r04": ("Dev", 0.7, (0.5, 2.0), 0.0, [1200]),
    "r05": ("Eli", 0.4, (0.01, 0.3), 0.0, []),
    "r06": ("Fay", 0.5, (0.1, 1.2), 1.0, [100]),
    "r07": ("Gus", 0.3, (0.3, 1.0), 0.0, [400]),
    "r08": ("Hana", 0.8, (0.8, 2.5), 0.1, [600]),
    "r09": ("Ivo", 0.2, (0.1, 0.5), 0.0, [500]),
    "r10": ("Jun", 0.6, (0.2, 1.0), 0.0, [800]),
    "r11": ("Kai", 0.0, (0.1, 0.2), 0.0, [50]),
    "r12": ("Lea", 0.5, (0.005, 0.009), 0.0, []),
}

for i, (c, (name, rate, (lo, hi), demo, deposits)) in enumerate(styles.items()):
    rows.append({"type": "profile", "client": c, "name": name,
                 "time": dt.datetime(2026, 3, 2, 6, i, tzinfo=dt.timezone.utc)})
    for k, amount in enumerate(deposits):
        d = START + dt.timedelta(days=3 + 11 * k + i)
        rows.append({"type": "deposit", "client": c, "amount": f"{amount:.2f}",
                     "time": dt.datetime(d.year, d.month, d.day, 7, i, tzinfo=dt.timezone.utc)})
    for day in range(DAYS):
        d = START + dt.timedelta(days=day)
        if d.weekday() >= 5 or rng.random() > rate:
            continue
        for _ in range(rng.randint(1, 3)):
            t = dt.datetime(d.year, d.month, d.day, rng.randint(8, 20), rng.randint(0, 59), rng.randint(0, 59),
                            tzinfo=dt.timezone.utc)
            places = 3 if hi < 0.01 else 2  # micro lots: below one point, so never credited
            lots = round(rng.uniform(lo, hi), places)
            row = {"type": "trade", "client": c, "time": t, "symbol": rng.choice(["EURUSD", "GBPUSD", "XAUUSD"]),
                   "lots": f"{lots:.{places}f}"}
            if rng.random() < demo:
                row["demo"] = True
            if rng.random() < 0.9:  # the rest take the default commission, 0 USD
                row["commission"] = f"{lots * 7 + rng.randint(0, 99) / 100:.2f}"
            rows.append(row)
    for week in (3, 6, 8):
        d = START + dt.timedelta(days=7 * week + i % 5)
        if rng.random() < 0.6:
            rows.append({"type": "redeem", "client": c, "reward": rng.choice(["mug", "webinar", "cap"]),
                         "points": rng.choice([100, 500, 2000]),
                         "time": dt.datetime(d.year, d.month, d.day, 21, i, tzinfo=dt.timezone.utc)})

rows.sort(key=lambda r: (r["time"], r["client"], r["type"]))
for n, r in enumerate(rows, 1):
    if r["type"] != "profile":
        r["id"] = f"{r['type'][0]}{n:04d}"
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
dup = next(i for i, r in enumerate(rows) if r["type"] == "trade" and i > 100)
rows.insert(dup + 1, dict(rows[dup]))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps({"type": r.pop("type"), **r}) + "\n")
