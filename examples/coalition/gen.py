#!/usr/bin/env python3
"""Writes events.jsonl for the coalition example: eight members, March to May 2026.

Fixed seed, standard library only. Planted: members who use three partners within 30 days
(the explorer bonus, at most once in any 60 days), more first hotel stays than the hotel's
100 EUR budget covers (skips, tried again at the member's next stay), an award without enough
miles, a purchase from an unknown partner (no miles), a redemption with miles as text
"1k" (rejected) and a purchase sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(31)
START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
rows = []
PRICE = {"skywest": (89, 640), "stayinn": (95, 480), "roadly": (40, 260), "freshmart": (12, 160), "fuelgo": (35, 90)}


def add(kind, client, day, **fields):
    t = START + dt.timedelta(days=day, hours=rng.randint(6, 21), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    row = {"type": kind, "client": client, "time": t}
    if kind != "profile":
        row["id"] = f"hz-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)


def buy(client, day, partner):
    lo, hi = PRICE[partner]
    add("purchase", client, day, partner=partner, amount=f"{rng.randint(lo * 100, hi * 100) / 100:.2f}",
        reference=f"{partner[:3].upper()}{rng.randint(100000, 999999)}")


members = {"m01": "Hannah", "m02": "Diego", "m03": "Yuki", "m04": "Amara", "m05": "Lars", "m06": "Priya",
           "m07": "Mateo", "m08": "Chen"}
habits = {
    "m01": ["freshmart"] * 4 + ["fuelgo"] * 2 + ["skywest"],
    "m02": ["skywest", "stayinn", "roadly", "freshmart"],         # the frequent traveller
    "m03": ["freshmart"] * 5 + ["stayinn"],
    "m04": ["fuelgo"] * 3 + ["roadly", "freshmart", "stayinn"],
    "m05": ["stayinn", "skywest", "freshmart", "freshmart"],
    "m06": ["freshmart"] * 6,                                      # groceries only
    "m07": ["stayinn", "roadly", "fuelgo"],
    "m08": ["skywest", "stayinn", "freshmart"],
}
for i, (c, name) in enumerate(members.items()):
    add("profile", c, i, name=name)
    rows[-1]["time"] = rows[-1]["time"].replace(hour=5)
    day = i + rng.randint(0, 4)
    while day < 90:
        buy(c, day, rng.choice(habits[c]))
        day += rng.randint(2, 9)

add("purchase", "m06", 40, partner="bookworld", amount="45.00")  # not a partner: no miles
for c, day, partner, award, miles in [("m06", 20, "skywest", "LOUNGE-PASS", 2500), ("m02", 50, "stayinn", "FREE-NIGHT", 6000),
                                      ("m01", 60, "freshmart", "VOUCHER-10", 1000), ("m05", 85, "skywest", "SEAT-UPGRADE", 4000)]:
    add("redeem", c, day, partner=partner, award=award, miles=miles)

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(70, {"type": "redeem", "id": "hz-bad", "client": "m03", "time": rows[69]["time"], "partner": "stayinn",
                 "award": "SPA-ACCESS", "miles": "1k"})
rows.insert(101, dict(rows[100]))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
