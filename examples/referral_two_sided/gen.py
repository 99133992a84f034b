#!/usr/bin/env python3
"""Writes events.jsonl for the two-sided referral example: three referrers and six invited
friends, May and June 2026.

Fixed seed, standard library only; run it again after changing it and review the diff.
Planted on purpose: a friend who deposits again after qualifying (the referrer is paid once
per friend), a friend whose first deposit is too small, a friend who never deposits, a
referrer first known through the reward sent to them, a client with no referrer, and a
chargeback of a qualifying deposit after both the referrer and the friend traded part of
their reward away: both rewards are taken back (short), then the friend's next deposit pays
both again; and a reversal naming a sent event, rejected.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(2718)
START = dt.datetime(2026, 5, 4, tzinfo=dt.timezone.utc)
events = []
serial = 0


def at(day, hour=None):
    return START + dt.timedelta(days=day, hours=hour if hour is not None else rng.randint(7, 20),
                                minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))


def add(kind, client, when, **fields):
    global serial
    serial += 1
    rid = f"{kind[0]}-{serial:04d}"
    row = {"type": kind, "client": client}
    if kind != "profile":
        row["id"] = rid
    events.append((when, {**row, **fields}))
    return rid


def deposit(client, day, amount):
    return add("deposit", client, at(day), amount=amount)


def trade(client, day, lots):
    return add("trade", client, at(day), lots=lots)


for c, name in [("ana", "Ana"), ("ben", "Ben")]:
    add("profile", c, at(0, 6), name=name)
    deposit(c, rng.randint(0, 3), f"{rng.randint(5, 40) * 50}.00")
# (friend, referrer, profile day)
friends = [("f01", "ana", 2), ("f02", "ana", 5), ("f03", "ben", 6), ("f04", "ben", 9), ("f05", "cai", 12),
           ("f06", "ana", 20)]
for friend, referrer, day in friends:
    add("profile", friend, at(day, 6), name=friend.upper(), referred_by=referrer)
add("profile", "gil", at(1, 6), name="Gil")                   # nobody invited gil

f01 = deposit("f01", 3, "250.00")                              # ana 50, f01 25
deposit("f01", 9, "300.00")                                    # once per friend: nothing more
deposit("f02", 6, "60.00")                                     # too small
deposit("f02", 11, "150.00")                                   # ana 50, f02 25
f03 = deposit("f03", 7, "500.00")                              # ben 50, f03 25
trade("f03", 8, "3.0")                                         # f03 uses 15 of 25
trade("ben", 9, "8.0")                                         # ben uses 40 of 50
deposit("f05", 14, "120.00")                                   # cai is first known through the send
deposit("gil", 15, "900.00")                                   # no referrer: nothing
add("reversal", "f03", at(16, 21), of=f03)                     # both rewards taken back, short
deposit("f03", 22, "200.00")                                   # pays both again
add("reversal", "ana", at(23, 21), of=f01 + "/friend_deposits/1", _bad=True)  # a sent event: rejected
for day in range(1, 40, 3):
    for c in ["ana", "f01", "f02", "gil"]:
        if rng.random() < 0.4:
            trade(c, day, f"{rng.randint(1, 20) / 10:.1f}")
# f04 and f06 never deposit.

events.sort(key=lambda e: e[0])
print("rejected lines:", [n for n, (_, r) in enumerate(events, 1) if r.get("_bad")])
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w") as f:
    for when, r in events:
        row = {"type": r["type"], **({"id": r["id"]} if "id" in r else {}), "client": r["client"],
               "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
               **{k: v for k, v in r.items() if k not in ("type", "id", "client", "_bad")}}
        f.write(json.dumps(row) + "\n")
print(f"{len(events)} records")
