#!/usr/bin/env python3
"""Writes events.jsonl for the referral example: three members who share and invite, and
nine invited friends, February to May 2026.

Fixed seed, standard library only. The CRM's part is simulated here: a few minutes after a
friend's qualifying order (the one that makes the program emit `referral_qualified`), the
stream carries a `friend_qualified` record on the referrer's id. Planted: a referrer with six
qualified friends (five paid, then the yearly limit), a friend whose first orders are too
small, a friend who never orders, a self-referral, repeated shares on one day, a short review
(no points), a review with stars as text "five" (rejected) and a share sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(41)
START = dt.datetime(2026, 2, 2, tzinfo=dt.timezone.utc)
rows = []


def t(day, hour=None):
    return START + dt.timedelta(days=day, hours=hour if hour is not None else rng.randint(8, 21),
                                minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))


def add(kind, client, time, **fields):
    row = {"type": kind, "client": client, "time": time}
    if kind != "profile":
        row["id"] = f"{kind[:2]}-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)


for c, n in [("a01", "Lina"), ("a02", "Omar"), ("a03", "Sara")]:
    add("profile", c, t(0, 7), name=n)
    day = rng.randint(0, 3)
    while day < 110:
        add("order", c, t(day), amount=f"{rng.randint(1500, 18000) / 100:.2f}")
        day += rng.randint(5, 14)

# Friends: (friend, referrer, signup day, order amounts and days after signup)
friends = [
    ("n01", "a01", 5, [(1, "64.00"), (20, "22.50")]),
    ("n02", "a01", 12, [(3, "129.90")]),
    ("n03", "a01", 20, [(0, "55.00")]),
    ("n04", "a02", 24, [(2, "30.00"), (9, "45.00"), (15, "80.00")]),  # too small twice
    ("n05", "a01", 33, [(6, "72.40")]),
    ("n06", "a02", 40, []),                                             # never orders
    ("n07", "a01", 51, [(4, "210.00")]),
    ("n08", "n08", 60, [(1, "99.00")]),                                 # refers themself
    ("n09", "a01", 70, [(2, "58.10")]),                                 # the sixth: over the limit
    ("n10", "a01", 85, [(1, "66.00")]),                                 # the seventh
]
for friend, referrer, day, orders in friends:
    add("signup", friend, t(day), referred_by=referrer)
    qualified = False
    for after, amount in orders:
        when = t(day + after)
        add("order", friend, when, amount=amount)
        valid = referrer != friend
        if valid and not qualified and float(amount) >= 50:
            qualified = True
            add("friend_qualified", referrer, when + dt.timedelta(minutes=3), friend=friend)

# Shares: Lina shares a lot, sometimes several times a day; Sara now and then.
for day in range(1, 100, 2):
    for _ in range(rng.choice([1, 1, 2, 3])):
        add("share", "a01", t(day), network=rng.choice(["instagram", "facebook", "whatsapp"]),
            product=f"SKU-{rng.randint(1000, 9999)}")
for day in range(4, 100, 9):
    add("share", "a03", t(day), network="pinterest", product=f"SKU-{rng.randint(1000, 9999)}")
# Reviews.
add("review", "a02", t(15), stars=5, words=48)
add("review", "a03", t(30), stars=3, words=12)   # too short
add("review", "a03", t(44), stars=2, words=64)
add("review", "n02", t(25), stars=4, words=21)
add("review", "a02", t(60), stars=4, words=80)   # second review: once per client

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(80, {"type": "review", "id": "re-bad", "client": "a01", "time": rows[79]["time"], "stars": "five",
                 "words": 30})
share = next(i for i, r in enumerate(rows) if i > 120 and r["type"] == "share")
rows.insert(share + 2, dict(rows[share]))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
