#!/usr/bin/env python3
"""Writes events.jsonl for the punch card example: five coffee drinkers, 16 February to
12 April 2026.

Fixed seed, standard library only. Planted: days with three purchases (the third earns no
stamp), purchases under 3 EUR, double stamps at the Harbour store in its launch week, a claim
without a free drink, an amount written with a comma (rejected) and a purchase sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(5)
START = dt.date(2026, 2, 16)  # a Monday
rows = []
PRICES = ["2.40", "2.80", "3.20", "3.60", "3.90", "4.50", "5.10", "6.80"]


def t(day, hour, minute=None):
    d = START + dt.timedelta(days=day)
    return dt.datetime(d.year, d.month, d.day, hour, minute if minute is not None else rng.randint(0, 59),
                       rng.randint(0, 59), tzinfo=dt.timezone.utc)


def buy(client, day, hour, store="Central", price=None):
    rows.append({"type": "purchase", "id": f"pos-{len(rows) + 1:05d}", "client": client, "time": t(day, hour),
                 "amount": price or rng.choice(PRICES[1:]), "store": store})


def claim(client, day, hour, store="Central"):
    rows.append({"type": "claim", "id": f"app-{len(rows) + 1:05d}", "client": client, "time": t(day, hour),
                 "store": store})


for day in range(56):
    weekday = day % 7
    if weekday < 5:
        buy("p01", day, 7)                      # the commuter's morning coffee
        if rng.random() < 0.35:
            buy("p01", day, 13)
            if rng.random() < 0.4:
                buy("p01", day, 16)             # a third one: no stamp
    if day % 2 == 0:
        buy("p02", day, rng.randint(9, 11), store=rng.choice(["Central", "Station"]))
    if rng.random() < 0.3:
        buy("p03", day, rng.randint(10, 17), price=rng.choice(PRICES))  # sometimes under 3 EUR
    if 21 <= day <= 27 or (day % 4 == 1):
        buy("p04", day, rng.randint(8, 18), store="Harbour" if day >= 21 else "Central")
    if weekday >= 5:
        buy("p05", day, rng.randint(10, 12), store="Station")

for client, day, hour in [("p01", 20, 12), ("p01", 40, 12), ("p02", 30, 15), ("p04", 30, 15),
                          ("p03", 35, 17), ("p01", 50, 12), ("p05", 54, 15), ("p05", 13, 11)]:
    claim(client, day, hour)

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(60, {"type": "purchase", "id": "pos-comma", "client": "p02", "time": rows[59]["time"],
                 "amount": "3,20", "store": "Central"})
rows.insert(141, dict(rows[140]))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
