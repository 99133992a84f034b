#!/usr/bin/env python3
"""Writes events.jsonl for the points example: six members of a book shop, January to May 2026.

Fixed seed, standard library only; run it again after changing it and review the diff.
Planted on purpose: a redemption without enough points, a refund larger than the balance, a
member who goes quiet (reminder, then expiry), an amount with three decimals (rejected), a
redemption without its cost (rejected) and a purchase sent twice (a duplicate).
"""
import datetime as dt
import json
import os
import random

rng = random.Random(7)
START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
END = dt.datetime(2026, 5, 31, tzinfo=dt.timezone.utc)
rows = []


def at(day, hour=None):
    """A time on `day` (days after START) during shop hours."""
    h = hour if hour is not None else rng.randint(8, 19)
    return START + dt.timedelta(days=day, hours=h, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))


def add(kind, client, time, **fields):
    row = {"type": kind}
    if kind != "profile":
        row["id"] = f"{kind[0]}-{client}-{len(rows) + 1:04d}"
    row["client"] = client
    row["time"] = time
    row.update(fields)
    rows.append(row)
    return row


def amount(lo, hi):
    return f"{rng.randint(lo * 100, hi * 100) / 100:.2f}"


add("profile", "r01", at(0, 8), name="Anna")
add("profile", "r02", at(0, 9), name="Ben")
add("profile", "r03", at(1, 9), name="Chloé")
add("profile", "r04", at(2, 9), name="Dmitri")

# Regular buyers: a purchase most weeks.
for client, first, channels in [("r01", 0, ["store", "store", "web"]),
                                ("r02", 1, ["app", "app", "web"]),
                                ("r04", 3, ["store", "web"]),
                                ("r06", 20, ["store", "app"])]:
    day = first
    while day < (END - START).days - 3:
        add("purchase", client, at(day), amount=amount(8, 95), channel=rng.choice(channels))
        day += rng.randint(4, 12)

# Chloé buys twice in January, then is not seen again: a reminder 76 days after her last
# purchase, and expiry at 90 days.
add("purchase", "r03", at(1), amount="64.90", channel="web")
add("purchase", "r03", at(9), amount="23.50", channel="store")

# Eva joins in March and buys in the app.
add("profile", "r05", at(60, 7), name="Eva")
for day in (60, 66, 80, 101, 115):
    add("purchase", "r05", at(day), amount=amount(15, 60), channel="app")

# Redemptions: Ben asks for more than he has first, then succeeds; Anna redeems twice.
add("redeem", "r02", at(15), reward="TOTE-BAG", cost=900)
add("redeem", "r02", at(70), reward="TOTE-BAG", cost=900)
add("redeem", "r01", at(40), reward="COFFEE-VOUCHER", cost=300)
add("redeem", "r01", at(100), reward="BOOK-10EUR", cost=500)
# Dmitri buys a large order, spends nearly all his points, then returns the order: the
# refund takes only what is left.
add("purchase", "r04", at(45), amount="189.00", channel="web")
add("redeem", "r04", at(50), reward="E-READER-50EUR", cost=700)
add("refund", "r04", at(58), amount="189.00")
# A partial refund for Anna.
add("refund", "r01", at(33), amount="15.99")

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")

# Bad records, kept in time order: three decimals, a redemption without its cost, and a
# purchase re-sent by the shop's system (same id).
rows.insert(30, {"type": "purchase", "id": "p-r06-bad1", "client": "r06",
                 "time": rows[29]["time"], "amount": "12.345", "channel": "store"})
rows.insert(61, {"type": "redeem", "id": "x-r01-bad2", "client": "r01",
                 "time": rows[60]["time"], "reward": "MUG"})
dup = next(r for r in rows[70:] if r["type"] == "purchase")
rows.insert(rows.index(dup) + 2, dict(dup))
rows.append({"type": "tick", "time": END.strftime("%Y-%m-%dT%H:%M:%SZ")})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
