#!/usr/bin/env python3
"""Writes events.jsonl for the cashback example: six cardholders, February to April 2026.

Fixed seed, standard library only. Planted: a frequent traveller who reaches the 30-day cap
(twice), diners who use up the March promotion's budget, refunds, a payout below the minimum,
a purchase without a category (rejected), a record older than the clock (rejected) and a
purchase sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(23)
START = dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)
DAYS = 89
rows = []

MERCHANTS = {
    "groceries": ["Lidl", "Carrefour", "Albert Heijn"], "fuel": ["Shell", "BP", "Total"],
    "dining": ["Trattoria Roma", "Sushi Bar Kyo", "Le Petit Bistro", "Burger Lab"],
    "travel": ["Air Europa", "Booking.com", "Iberia", "Renfe"], "other": ["Zara", "IKEA", "Apple Store"],
}
PRICES = {"groceries": (15, 140), "fuel": (40, 95), "dining": (25, 160), "travel": (120, 900), "other": (10, 300)}


def at(day):
    return START + dt.timedelta(days=day, hours=rng.randint(7, 22), minutes=rng.randint(0, 59),
                                seconds=rng.randint(0, 59))


def add(kind, client, day, **fields):
    row = {"type": kind, "client": client, "time": at(day)}
    if kind != "profile":
        row["id"] = f"tx-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)
    return row


def purchase(client, day, category):
    lo, hi = PRICES[category]
    return add("purchase", client, day, amount=f"{rng.randint(lo * 100, hi * 100) / 100:.2f}",
               category=category, merchant=rng.choice(MERCHANTS[category]))


people = {
    "k01": ("Julia", {"groceries": 5, "fuel": 2, "dining": 2, "other": 1}),
    "k02": ("Rafael", {"travel": 4, "dining": 3, "other": 1}),   # the traveller
    "k03": ("Emma", {"dining": 6, "groceries": 3}),               # the diner
    "k04": ("Noah", {"fuel": 4, "groceries": 3, "other": 2}),
    "k05": ("Ines", {"dining": 5, "other": 2, "travel": 1}),      # another diner
    "k06": ("Karl", {"groceries": 2, "other": 1}),
}
for i, (c, (name, mix)) in enumerate(people.items()):
    add("profile", c, i, name=name)
    cats = [k for k, w in mix.items() for _ in range(w)]
    day = i + rng.randint(0, 3)
    while day < DAYS:
        purchase(c, day, rng.choice(cats))
        day += rng.randint(1, 5)

# Refunds and payouts.
add("refund", "k02", 20, amount="412.00", category="travel")
add("refund", "k01", 33, amount=12.5, category="groceries")
add("refund", "k06", 60, amount="89.90", category="other")
for c, day in [("k04", 4), ("k01", 40), ("k02", 45), ("k03", 58), ("k06", 59), ("k05", 75), ("k02", 88)]:
    add("payout", c, day)

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")

rows.insert(50, {"type": "purchase", "id": "tx-nocat", "client": "k04", "time": rows[49]["time"],
                 "amount": "55.00", "merchant": "Shell"})
rows.insert(120, {"type": "purchase", "id": "tx-late", "client": "k01", "time": rows[100]["time"],
                  "amount": "20.00", "category": "groceries"})
rows.insert(151, dict(rows[150]))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
