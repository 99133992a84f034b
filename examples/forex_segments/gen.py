#!/usr/bin/env python3
"""Writes events.jsonl for forex_segments: twelve clients, January to August 2026, and a
closing tick at the end of September.

Fixed seed, standard library only. Each client follows a script of trading, deposit and
login periods. Planted: a loyal veteran; a veteran who stops trading (at risk, then lost,
later than trading alone would say because they still log in); new clients who deposit
enough (potential) and one who does not; a client who becomes old enough to be loyal in
mid-stream; a client who only logs in (never lost: never traded); a trader lost early; a
client whose activity sits at the loyal line (in and out of the segment: segments have no
hold), a trade stamped with a -04:00 offset (normalised to UTC), a deposit for a client id that is a number (rejected)
and a login sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(612)
START = dt.date(2026, 1, 5)
DAYS = 239
rows = []


def at(day):
    d = START + dt.timedelta(days=day)
    return dt.datetime(d.year, d.month, d.day, rng.randint(6, 21), rng.randint(0, 59), rng.randint(0, 59),
                       tzinfo=dt.timezone.utc)


def periodic(kind, c, first, last, every, **fields):
    day = first
    while day <= last and day < DAYS:
        row = {"type": kind, "client": c, "time": at(day)}
        row.update({k: (v() if callable(v) else v) for k, v in fields.items()})
        rows.append(row)
        day += rng.randint(max(1, every - 2), every + 2)


lots = lambda: f"{rng.randint(5, 250) / 100:.2f}"
symbol = lambda: rng.choice(["EURUSD", "GBPUSD", "XAUUSD", "USDJPY", "AUDUSD"])


def money(lo, hi):
    return lambda: f"{rng.randint(lo, hi)}.00"


# (client, name, opened, first seen day)
people = [("z01", "Aurelio", "2019-04-02", 0), ("z02", "Bettina", "2018-11-20", 0), ("z03", "Cem", "2026-02-10", 36),
          ("z04", "Dora", "2026-03-01", 55), ("z05", "Eamon", "2025-10-01", 0), ("z06", "Flora", "2022-06-15", 0),
          ("z07", "Gideon", "2024-01-09", 0), ("z08", "Hoa", "2026-05-04", 119), ("z09", "Isak", "2023-03-03", 0),
          ("z10", "Jamila", "2021-08-08", 0), ("z11", "Kofi", "2020-05-05", 0), ("z12", "Liv", "2025-12-01", 0)]
for c, name, opened, first in people:
    rows.append({"type": "profile", "client": c, "name": name, "opened": opened,
                 "time": dt.datetime.combine(START + dt.timedelta(days=first), dt.time(5, 0), dt.timezone.utc)})

periodic("trade", "z01", 0, DAYS, 3, symbol=symbol, lots=lots)
periodic("deposit", "z01", 3, DAYS, 28, amount=money(400, 900))
periodic("trade", "z02", 0, 100, 3, symbol=symbol, lots=lots)
periodic("deposit", "z02", 5, 100, 30, amount=money(300, 800))
periodic("login", "z02", 100, 150, 6, device="ios")
periodic("deposit", "z03", 36, 36, 1, amount=money(1000, 1000))
periodic("trade", "z03", 37, 70, 9, symbol=symbol, lots=lots)
periodic("trade", "z03", 71, DAYS, 3, symbol=symbol, lots=lots)
periodic("deposit", "z04", 55, 55, 1, amount=money(200, 200))
periodic("trade", "z04", 56, 150, 10, symbol=symbol, lots=lots)
periodic("trade", "z05", 0, DAYS, 3, symbol=symbol, lots=lots)
periodic("deposit", "z05", 10, DAYS, 25, amount=money(500, 1500))
periodic("trade", "z06", 0, DAYS, 6, symbol=symbol, lots=lots)
periodic("deposit", "z06", 0, DAYS, 45, amount=money(200, 400))
periodic("trade", "z07", 0, 40, 2, symbol=symbol, lots=lots)
periodic("trade", "z07", 75, 130, 2, symbol=symbol, lots=lots)
periodic("deposit", "z07", 1, 130, 40, amount=money(1000, 2000))
periodic("deposit", "z08", 119, 119, 1, amount=money(3000, 3000))
periodic("trade", "z08", 120, 200, 14, symbol=symbol, lots=lots)
periodic("login", "z09", 0, DAYS, 7, device="android")
periodic("trade", "z10", 0, 20, 3, symbol=symbol, lots=lots)
periodic("login", "z10", 25, 45, 10, device="web")
periodic("trade", "z11", 0, DAYS, 4, symbol=symbol, lots=lots)
periodic("deposit", "z11", 20, DAYS, 35, amount=money(600, 1200))
periodic("trade", "z12", 0, 60, 5, symbol=symbol, lots=lots)
periodic("trade", "z12", 150, DAYS, 5, symbol=symbol, lots=lots)
periodic("login", "z12", 60, 150, 20, device="smart-tv")

rows.sort(key=lambda r: r["time"])
for n, r in enumerate(rows, 1):
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
    if r["type"] != "profile":
        r["id"] = f"{r['type'][:2]}-{n:05d}"
# A trade stamped in New York time (UTC-4 in summer): the same instant, written with its offset.
i = next(i for i, r in enumerate(rows) if i > 300 and r["type"] == "trade" and "10" <= r["time"][11:13] <= "20")
utc = dt.datetime.strptime(rows[i]["time"], "%Y-%m-%dT%H:%M:%SZ")
rows[i]["time"] = (utc - dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S") + "-04:00"
rows.insert(200, {"type": "deposit", "id": "de-numid", "client": 1011, "time": rows[199]["time"], "amount": "500.00"})
j = next(i for i, r in enumerate(rows) if i > 500 and r["type"] == "login")
rows.insert(j + 2, dict(rows[j]))
rows.append({"type": "tick", "time": "2026-09-30T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
