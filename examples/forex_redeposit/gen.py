#!/usr/bin/env python3
"""Writes events.jsonl for forex_redeposit: ten clients of a broker, April to June 2026.

Fixed seed, standard library only. Planted: every size band and account type (a VIP's
bonus capped at 2,500 USD), an account upgraded mid-stream, a third deposit in 30 days (over
the limit), a client who stopped trading, a deposit two days after a withdrawal, a busy
fortnight that uses up the 30-day budget (skips), an amount written as 1.5e3 (read exactly:
1,500 USD), a time without a zone (rejected) and a deposit sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(404)
START = dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)
rows = []
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "USDCAD", "EURJPY", "NZDUSD"]


def add(kind, client, day, hour=None, **fields):
    t = START + dt.timedelta(days=day, hours=hour if hour is not None else rng.randint(6, 21),
                             minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    row = {"type": kind, "client": client, "time": t}
    if kind != "profile":
        row["id"] = f"{kind[:3]}-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)


# (client, name, account, deposit range, days between deposits, trades?)
clients = [
    ("t01", "Andreas", "standard", (200, 900), (8, 16), True),
    ("t02", "Bianca", "pro", (800, 3000), (6, 14), True),
    ("t03", "Chidi", "vip", (4000, 15000), (7, 15), True),
    ("t04", "Dana", "standard", (150, 600), (5, 10), True),
    ("t05", "Emre", "pro", (1000, 5000), (10, 20), False),   # stopped trading
    ("t06", "Fatima", "vip", (2000, 8000), (9, 18), True),
    ("t07", "Goran", "standard", (300, 1200), (4, 9), True),  # deposits often
    ("t08", "Hana", "standard", (500, 2500), (12, 25), True),
    ("t09", "Igor", "pro", (300, 2000), (7, 14), True),
    ("t10", "Julia", "standard", (200, 700), (10, 20), True),
]
for i, (c, name, account, (lo, hi), (g1, g2), trades) in enumerate(clients):
    add("profile", c, 0, hour=5, name=name, account=account)
    day = rng.randint(0, 4)
    while day < 90:
        add("deposit", c, day, amount=f"{rng.randint(lo, hi)}.00", method=rng.choice(["card", "wire", "ewallet"]))
        day += rng.randint(g1, g2)
    if trades:
        day = rng.randint(0, 3)
        while day < 90:
            add("trade", c, day, symbol=rng.choice(SYMBOLS), lots=f"{rng.randint(5, 300) / 100:.2f}")
            day += rng.randint(1, 6)
    else:
        add("trade", c, 1, symbol="EURUSD", lots="0.50")   # one early trade, then nothing

# Dana becomes a pro client in May; Igor withdraws and deposits again two days later.
add("profile", "t04", 35, hour=5, account="pro")
add("withdrawal", "t09", 40, hour=10, amount="1500.00")
add("deposit", "t09", 42, hour=10, amount="1600.00", method="card")
# A busy fortnight in May: large deposits from the VIPs and Bianca.
for c, day, amount in [("t03", 44, "12000.00"), ("t06", 45, "9000.00"), ("t02", 46, "4800.00"), ("t03", 50, "8000.00"),
                       ("t06", 52, "6000.00")]:
    add("deposit", c, day, hour=11, amount=amount, method="wire")
# Hana's bank sends 1500 as a number in exponent form.
add("deposit", "t08", 75, hour=9, amount=1.5e3, method="wire")

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(120, {"type": "deposit", "id": "dep-nozone", "client": "t10", "time": rows[119]["time"][:-1],
                  "amount": "400.00"})
dep = next(i for i, r in enumerate(rows) if i > 200 and r["type"] == "deposit")
rows.insert(dep + 2, dict(rows[dep]))

text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
# json.dumps writes 1500.0 for the float; the bank's system writes 1.5e3.
text = text.replace('"amount":1500.0,', '"amount":1.5e3,')
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    f.write(text)
print(f"{len(rows)} records")
