#!/usr/bin/env python3
"""Writes events.jsonl for the subscription example: seven customers of a delivery app,
March to mid-June 2026.

Fixed seed, standard library only. Planted: a trial that converts to a monthly plan, a trial
that lapses, an annual plan, a cancellation (perks last to the end of the period), a payment
that stops coming, a second trial (refused), member credit larger than an order, a price
with its currency in the text (rejected), an order without an amount (rejected) and a
payment confirmation sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(3)
START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
rows = []


def add(kind, client, day, hour=None, **fields):
    h = hour if hour is not None else rng.randint(11, 21)
    t = START + dt.timedelta(days=day, hours=h, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    row = {"type": kind, "client": client, "time": t}
    if kind != "profile":
        row["id"] = f"{kind[:3]}-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)


RESTAURANTS = ["Pho Saigon", "Napoli Express", "Green Bowl", "Taco Loco", "Curry House", "Sushi Go"]
people = {"f01": "Alice", "f02": "Bruno", "f03": "Carmen", "f04": "Dario", "f05": "Elif", "f06": "Finn", "f07": "Greta"}
for i, (c, n) in enumerate(people.items()):
    add("profile", c, i, hour=8, name=n)
    day = i + rng.randint(0, 2)
    while day < 105:
        add("order", c, day, amount=f"{rng.randint(900, 4500) / 100:.2f}", restaurant=rng.choice(RESTAURANTS))
        day += rng.randint(2, 6)

# Alice: trial, then monthly payments from the end of her trial.
add("trial", "f01", 1, hour=9)
for day in (15, 45, 75, 105):
    add("subscription_paid", "f01", day, hour=6, plan="monthly", price="7.99")
# Bruno: a trial that lapses.
add("trial", "f02", 4, hour=9)
# Carmen: an annual plan straight away.
add("subscription_paid", "f03", 9, hour=10, plan="annual", price="79.00")
# Dario: monthly, cancels in April; his last period runs out in May.
for day in (6, 36):
    add("subscription_paid", "f04", day, hour=7, plan="monthly", price="7.99")
add("cancel", "f04", 50, hour=10, reason="too expensive")
# Finn: a trial, then tries another one later.
add("trial", "f06", 12, hour=9)
add("trial", "f06", 60, hour=9)
# Greta: monthly until the payments stop coming.
for day in (20, 50):
    add("subscription_paid", "f07", day, hour=6, plan="monthly", price="7.99")

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(40, {"type": "subscription_paid", "id": "sub-bad", "client": "f05", "time": rows[39]["time"],
                 "plan": "monthly", "price": "7.99 EUR"})
rows.insert(90, {"type": "order", "id": "ord-null", "client": "f03", "time": rows[89]["time"], "amount": None,
                 "restaurant": "Green Bowl"})
dup = next(i for i, r in enumerate(rows) if r["type"] == "subscription_paid" and r["client"] == "f07")
rows.insert(dup + 2, dict(rows[dup]))
rows.append({"type": "tick", "time": "2026-06-20T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
