#!/usr/bin/env python3
"""Writes events.jsonl for the tiered example: eight shoppers of a fashion retailer, January
to June 2026, and a closing tick at the end of August that lets the holds run out.

Fixed seed, standard library only. Planted: a big spender who reaches Platinum and stops
(held, then downgraded step by step), a single large order followed by a return (Gold kept by
its hold although the net spend fell), a return with a negative amount typed by mistake (the
debit does nothing), a purchase without an amount (rejected) and a record sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(11)
START = dt.datetime(2026, 1, 3, tzinfo=dt.timezone.utc)
rows = []


def at(day):
    return START + dt.timedelta(days=day, hours=rng.randint(9, 20), minutes=rng.randint(0, 59),
                                seconds=rng.randint(0, 59))


def add(kind, client, day, **fields):
    row = {"type": kind, "client": client, "time": at(day)}
    if kind != "profile":
        row["id"] = f"{kind[:3]}-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)


def eur(lo, hi):
    return f"{rng.randint(lo * 100, hi * 100) / 100:.2f}"


names = {"s01": "Sofia", "s02": "Marco", "s03": "Lena", "s04": "Tomás", "s05": "Aiko",
         "s06": "Oliver", "s07": "Nadia", "s08": "Pierre"}
for i, (c, n) in enumerate(names.items()):
    add("profile", c, i * 3, name=n)

# Sofia: 300-900 EUR every few days until the end of March, then nothing.
day = 1
while day < 85:
    add("purchase", "s01", day, amount=eur(300, 900), channel=rng.choice(["store", "web"]))
    day += rng.randint(3, 7)
# Marco: a steady 150-300 EUR a week.
day = 4
while day < 175:
    add("purchase", "s02", day, amount=eur(150, 300), channel=rng.choice(["store", "web", "web"]))
    day += rng.randint(6, 9)
# Lena: small and rare.
for day in range(7, 175, 16):
    add("purchase", "s03", day, amount=eur(30, 90), channel="web")
# Tomás: one large order in February, most of it returned a week later.
add("purchase", "s04", 35, amount="1640.00", channel="web")
add("returned", "s04", 42, amount="720.00")
add("purchase", "s04", 120, amount="85.00", channel="store")
# The rest: irregular.
for c in ("s05", "s06", "s07", "s08"):
    day = rng.randint(10, 40)
    while day < 178:
        add("purchase", c, day, amount=eur(20, 420), channel=rng.choice(["store", "web"]))
        if rng.random() < 0.15:
            add("returned", c, day + rng.randint(2, 9), amount=eur(20, 60))
        day += rng.randint(5, 25)

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")


def insert_after(i, row, keep_time=False):
    if not keep_time:
        row["time"] = rows[i]["time"]
    rows.insert(i + 1, row)


insert_after(40, {"type": "returned", "id": "ret-typo", "client": "s05", "amount": "-35.00"})
insert_after(77, {"type": "purchase", "id": "pur-noamount", "client": "s07", "channel": "store"})
# Sent again exactly as it was (a duplicate; with another time it would be a conflicting reuse).
insert_after(101, dict(next(r for r in rows[90:] if r["type"] == "purchase")), keep_time=True)
rows.append({"type": "tick", "time": "2026-08-31T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
