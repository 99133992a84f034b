#!/usr/bin/env python3
"""Writes events.jsonl for forex_first_deposit: fourteen new clients of a broker, March and
April 2026.

Fixed seed, standard library only. Planted: every bonus band, a bonus capped at 2,000 USD,
a restricted country, an unverified client (told to verify; verifying later does not make a
later deposit a first one), a deposit under the minimum, a first deposit flagged twice, the
campaign budget running out (a skip, and a smaller bonus after it that still fits), bonuses
released by trading, a withdrawal that forfeits the locked rest, `first` written as "yes"
(rejected) and a trade sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(2026)
START = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
rows = []
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "AUDUSD", "USDCHF"]


def add(kind, client, when, **fields):
    row = {"type": kind, "client": client, "time": when}
    if kind != "profile":
        row["id"] = f"{kind[0]}-{client}-{len(rows) + 1:04d}"
    row.update(fields)
    rows.append(row)


def at(day, hour=None):
    return START + dt.timedelta(days=day, hours=hour if hour is not None else rng.randint(6, 20),
                                minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))


# (client, name, country, verified, signup day, first deposit, trading lots per week)
clients = [
    ("c01", "Maria", "CY", True, 0, "1000.00", 12.0),
    ("c02", "John", "US", True, 1, "2000.00", 3.0),
    ("c03", "Lukas", "DE", False, 2, "500.00", 1.0),
    ("c04", "Omar", "AE", True, 3, "6000.00", 6.0),
    ("c05", "Sophie", "GB", True, 4, "99.99", 0.5),
    ("c06", "Pavel", "CZ", True, 6, "750.00", 0.8),
    ("c07", "Ana", "ES", True, 8, "300.00", 1.2),
    ("c08", "Kenji", "JP", True, 10, "5000.00", 8.0),
    ("c09", "Lea", "FR", True, 12, "800.00", 1.5),
    ("c10", "Tariq", "SA", True, 15, "1500.00", 2.5),
    ("c11", "Nina", "IT", True, 18, "300.00", 0.6),
    ("c12", "Jonas", "SE", True, 21, "1200.00", 2.0),
    ("c13", "Wei", "SG", True, 25, "2500.00", 3.0),
    ("c14", "Elena", "GR", True, 27, "150.00", 0.4),
]
for c, name, country, verified, day, amount, weekly in clients:
    t = at(day, 9)
    add("profile", c, t, name=name, country=country, kyc_verified=verified)
    add("deposit", c, t + dt.timedelta(minutes=12), amount=amount, method=rng.choice(["card", "wire", "ewallet"]),
        first=True)
    # Trading: a few trades a week from the day after signing up.
    d = day + 1
    while d < 58:
        lots = round(rng.uniform(0.1, 1.0) * weekly / 2, 2)
        add("trade", c, at(d), symbol=rng.choice(SYMBOLS), lots=f"{max(lots, 0.01):.2f}")
        d += rng.randint(2, 5)

# Lukas verifies a week later and deposits again: not a first deposit.
add("profile", "c03", at(9, 8), kyc_verified=True)
add("deposit", "c03", at(9, 10), amount="500.00", method="card", first=False)
# Ana's first deposit is flagged as first twice by the payment system.
add("deposit", "c07", at(11, 10), amount="200.00", method="card", first=True)
# Pavel withdraws after a week, with most of his bonus still locked; Maria later, with none.
add("withdrawal", "c06", at(13, 15), amount="400.00")
add("withdrawal", "c01", at(55, 15), amount="600.00")

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(70, {"type": "deposit", "id": "d-bad-first", "client": "c09", "time": rows[69]["time"],
                 "amount": "100.00", "first": "yes"})
trade = next(i for i, r in enumerate(rows) if i > 150 and r["type"] == "trade")
rows.insert(trade + 2, dict(rows[trade]))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
