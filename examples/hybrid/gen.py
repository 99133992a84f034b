#!/usr/bin/env python3
"""Writes events.jsonl for the hybrid example: eight shoppers of a supermarket chain,
February to June 2026, with a closing tick.

Fixed seed, standard library only. Planted: shoppers at every shopping frequency (Blue,
Silver, Gold and a Gold hold after slowing down), organic challenges, points crossing 500
(vouchers), birthday purchases (one born on 29 February), shoppers who drift away (one
comes back and later drifts again), a Gold basket whose fresh produce is worth more than the
basket by a typing mistake (no cashback), a purchase without an amount (rejected) and a
purchase sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(99)
START = dt.datetime(2026, 2, 2, tzinfo=dt.timezone.utc)
DAYS = 140
rows = []
STORES = ["Centrum", "Harbour", "Station", "Park"]


def add(kind, client, day, hour=None, **fields):
    t = START + dt.timedelta(days=day, hours=hour if hour is not None else rng.randint(8, 20),
                             minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    row = {"type": kind, "client": client, "time": t}
    if kind != "profile":
        row["id"] = f"bsk-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)


def basket(c, day, big=False, organic_rate=0.2):
    total = rng.randint(6000 if big else 1200, 16000 if big else 9000)
    fresh = rng.randint(0, total // 2)
    add("purchase", c, day, amount=f"{total / 100:.2f}", fresh=f"{fresh / 100:.2f}",
        organic=rng.random() < organic_rate, store=rng.choice(STORES))


shoppers = [("h01", "Astrid", "1984-03-17"), ("h02", "Bilal", "1990-05-02"), ("h03", "Carla", "1977-02-25"),
            ("h04", "Dmitri", "1969-06-11"), ("h05", "Esme", "1995-04-08"), ("h06", "Felix", "1988-09-30"),
            ("h07", "Greta", "2000-02-29"), ("h08", "Hugo", "1993-12-01")]
for i, (c, n, b) in enumerate(shoppers):
    add("profile", c, 0, hour=6, name=n, birthdate=b)

for day in range(DAYS):
    # Astrid: almost every other day, an organic shopper, slows down in May (Gold hold).
    if (day < 90 and rng.random() < 0.5) or (day >= 90 and rng.random() < 0.12):
        basket("h01", day, organic_rate=0.6)
    # Bilal: twice a week, big baskets.
    if day % 7 in (1, 5):
        basket("h02", day, big=True)
    # Carla: once a week.
    if day % 7 == 3:
        basket("h03", day)
    # Dmitri: daily for a while, then gone.
    if day < 45 and rng.random() < 0.7:
        basket("h04", day)
    # Esme: shops in March, disappears, comes back in May, drifts again.
    if (30 <= day < 55 or 95 <= day < 105) and rng.random() < 0.4:
        basket("h05", day)
    # Felix and Hugo: irregular.
    for c in ("h06", "h08"):
        if rng.random() < 0.15:
            basket(c, day, big=rng.random() < 0.3)
    # Greta (born on 29 February): every few days.
    if day % 4 == 0:
        basket("h07", day, organic_rate=0.3)

# Carla shops on her birthday, and Greta on 28 February, her birthday in 2026; a mistyped
# fresh amount bigger than the basket.
add("purchase", "h03", 23, amount="87.40", fresh="21.30", organic=False, store="Park")
add("purchase", "h07", 26, amount="64.15", fresh="18.90", organic=True, store="Centrum")
add("purchase", "h01", 70, amount="25.10", fresh="2510.00", organic=False, store="Station")

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(150, {"type": "purchase", "id": "bsk-noamount", "client": "h02", "time": rows[149]["time"],
                  "fresh": "10.00", "store": "Park"})
rows.insert(201, dict(rows[200]))
rows.append({"type": "tick", "time": "2026-07-15T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
