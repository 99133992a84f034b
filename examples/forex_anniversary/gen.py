#!/usr/bin/env python3
"""Writes events.jsonl for forex_anniversary: ten clients, February to July 2026, with
their profiles (opening date and birthday) first.

Fixed seed, standard library only. Planted: anniversaries of one to eleven years (the bonus
counts at most five), an account opened on 29 February 2020 (its anniversary is 28 February
in 2026), an account opened in 2026 (no anniversary yet), dormant clients on their
anniversary and birthday, an opening date in a bad format (rejected) and a trade sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(55)
START = dt.date(2026, 2, 1)
DAYS = 181
rows = []

# (client, name, opened, birthdate, trades from, trades until (days after START), trades a week)
clients = [
    ("y01", "Andrea", "2021-03-12", "1986-07-04", 0, 181, 3),
    ("y02", "Boris", "2015-04-20", "1972-05-30", 0, 181, 2),       # eleven years: capped at five
    ("y03", "Carmen", "2020-02-29", "1990-02-14", 0, 181, 1),      # leap-day account
    ("y04", "Deniz", "2024-06-03", "1995-06-03", 0, 20, 2),        # dormant by June
    ("y05", "Elias", "2016-05-15", "1968-03-22", 60, 181, 4),      # back in April
    ("y06", "Frida", "2025-07-21", "1999-12-01", 0, 181, 5),       # first anniversary
    ("y07", "Gustavo", "2026-03-02", "1983-04-11", 30, 181, 2),    # opened this year
    ("y08", "Hye-jin", "2019-02-10", "1992-02-10", 0, 181, 1),
    ("y09", "Ivan", "2022-05-01", "1979-09-09", 0, 0, 0),          # never trades
    ("y10", "Jana", "2018-07-30", "1988-07-29", 100, 181, 2),
]
for i, (c, name, opened, birth, first, last, weekly) in enumerate(clients):
    rows.append({"type": "profile", "client": c, "name": name, "opened": opened, "birthdate": birth,
                 "time": dt.datetime(2026, 2, 1, 4, i * 3, tzinfo=dt.timezone.utc)})
    for day in range(first, last):
        if weekly and rng.random() < weekly / 7:
            d = START + dt.timedelta(days=day)
            rows.append({"type": "trade", "client": c, "symbol": rng.choice(["EURUSD", "GBPUSD", "XAUUSD", "USDJPY"]),
                         "lots": f"{rng.randint(1, 200) / 100:.2f}",
                         "time": dt.datetime(d.year, d.month, d.day, rng.randint(6, 20), rng.randint(0, 59),
                                             tzinfo=dt.timezone.utc)})

rows.sort(key=lambda r: r["time"])
for n, r in enumerate(rows, 1):
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
    if r["type"] == "trade":
        r["id"] = f"tr-{n:05d}"
rows.insert(20, {"type": "profile", "client": "y09", "time": rows[19]["time"], "opened": "01/05/2022"})
rows.insert(201, dict(rows[200]))
rows.append({"type": "tick", "time": "2026-08-01T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
