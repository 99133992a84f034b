#!/usr/bin/env python3
"""Writes events.jsonl for the gamified example: six members of a fitness app, 2 March to
10 May 2026, with a closing tick.

Fixed seed, standard library only. Planted: a 30-day streak (with a late-evening workout
just before midnight UTC), a 9-day streak that breaks (a nudge), two workouts on one day (the
streak counts days, not workouts), early-morning workouts for a badge, minutes with a
fraction (rejected), a workout without minutes (rejected) and a workout sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(17)
START = dt.date(2026, 3, 2)
rows = []
KINDS = ["run", "ride", "swim", "strength", "yoga"]


def add(client, day, hour, minutes, kind=None, local_hour=None):
    d = START + dt.timedelta(days=day)
    t = dt.datetime(d.year, d.month, d.day, hour, rng.randint(0, 59), rng.randint(0, 59), tzinfo=dt.timezone.utc)
    rows.append({"type": "workout", "id": f"w-{len(rows) + 1:05d}", "client": client, "time": t,
                 "minutes": minutes, "kind": kind or rng.choice(KINDS),
                 "local_hour": local_hour if local_hour is not None else (hour + 1) % 24})


def profile(client, day, name):
    d = START + dt.timedelta(days=day)
    rows.append({"type": "profile", "client": client, "name": name,
                 "time": dt.datetime(d.year, d.month, d.day, 0, 30, tzinfo=dt.timezone.utc)})


for c, n, day in [("u01", "Ava", 0), ("u02", "Ben", 0), ("u03", "Cleo", 1), ("u04", "Dev", 2), ("u05", "Eli", 3),
                  ("u06", "Fay", 50)]:
    profile(c, day, n)

# Ava: every day for 35 days, mostly at 5 in the morning; one evening session at 23:40 UTC.
for day in range(35):
    if day == 12:
        add("u01", day, 23, 25, "run", local_hour=0)
    else:
        add("u01", day, 5, rng.randint(25, 50), "run", local_hour=6)
for day in range(40, 70, 2):
    add("u01", day, 5, rng.randint(25, 50), "run", local_hour=6)
# Ben: four or five times a week, sometimes twice a day.
for day in range(70):
    if rng.random() < 0.65:
        add("u02", day, rng.randint(16, 20), rng.randint(20, 60))
        if rng.random() < 0.15:
            add("u02", day, 21, rng.randint(15, 30), "yoga")
# Cleo: long weekend sessions.
for day in range(5, 70, 7):
    add("u03", day, 9, rng.randint(70, 110), "ride")
    add("u03", day + 1, 9, rng.randint(50, 90), "ride")
# Dev: nine days in a row, then a long break, then a few sessions.
for day in range(2, 11):
    add("u04", day, 18, rng.randint(30, 45), "strength")
for day in (30, 31, 32, 45):
    add("u04", day, 18, rng.randint(30, 45), "strength")
# Eli: now and then.
for day in range(3, 70, 6):
    add("u05", day + rng.randint(0, 2), rng.randint(6, 20), rng.randint(15, 40))
# Fay: joins in late April and goes for it.
for day in range(50, 70):
    if rng.random() < 0.8:
        add("u06", day, 7, rng.randint(20, 45), local_hour=6 if rng.random() < 0.5 else 8)

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(100, {"type": "workout", "id": "w-frac", "client": "u05", "time": rows[99]["time"], "minutes": 45.5})
rows.insert(130, {"type": "workout", "id": "w-nomin", "client": "u02", "time": rows[129]["time"], "kind": "run"})
rows.insert(151, dict(rows[150]))
rows.append({"type": "tick", "time": "2026-05-12T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
