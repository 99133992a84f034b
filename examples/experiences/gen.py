#!/usr/bin/env python3
"""Writes events.jsonl for the experiences example: seven clients of a fashion house over
2026, with a closing tick on 31 December.

Fixed seed, standard library only. Planted: a client who rises to Inner Circle and stays, one
who reaches it just before the gala, one single very large purchase (Inner Circle, held, then
straight back to Insider with the manager released), three large purchases in 30 days (an
atelier visit), birthdays inside and outside the circles, an RSVP from a client outside the
circles, an amount with its currency in the text (rejected) and a purchase sent twice.
"""
import datetime as dt
import json
import os
import random

rng = random.Random(8)
START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
rows = []


def add(record_type, client, day, hour=None, **fields):
    t = START + dt.timedelta(days=day, hours=hour if hour is not None else rng.randint(10, 18),
                             minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    row = {"type": record_type, "client": client, "time": t}
    if record_type != "profile":
        row["id"] = f"mc-{len(rows) + 1:05d}"
    row.update(fields)
    rows.append(row)


clients = [("x01", "Valentina", "1985-06-14", "Milan"), ("x02", "Henrik", "1979-09-02", "Paris"),
           ("x03", "Mei", "1992-11-30", "London"), ("x04", "Amir", "1968-08-21", "Dubai"),
           ("x05", "Chloe", "1990-03-10", "Paris"), ("x06", "Rafael", "1983-04-22", "Madrid"),
           ("x07", "Ingrid", "1975-12-24", "Paris")]
for i, (c, n, b, shop) in enumerate(clients):
    add("profile", c, i, hour=8, name=n, birthdate=b, boutique=shop)


def shop(c, day, lo, hi, boutique):
    add("purchase", c, day, amount=f"{rng.randint(lo, hi) * 10}.00", boutique=boutique)


# Valentina: a large purchase every two or three weeks all year.
for day in range(3, 350, rng.randint(14, 21)):
    shop("x01", day, 150, 520, "Milan")
# Henrik: steady, then a burst in May.
for day in range(10, 120, 25):
    shop("x02", day, 90, 260, "Paris")
for day in (128, 133, 140):
    shop("x02", day, 420, 700, "Paris")
for day in range(170, 340, 40):
    shop("x02", day, 60, 200, "Paris")
# Mei: a good first quarter, then quiet.
for day in (20, 41, 66, 80):
    shop("x03", day, 100, 220, "London")
# Amir: one very large purchase in January.
add("purchase", "x04", 15, amount="22400.00", boutique="Dubai")
# Chloe, Rafael and Ingrid: occasional purchases.
for c, boutique in (("x05", "Paris"), ("x06", "Madrid"), ("x07", "Paris")):
    for day in range(rng.randint(5, 30), 350, rng.randint(35, 60)):
        shop(c, day, 30, 180, boutique)

add("rsvp", "x01", 150, event_code="GALA-2026-06", guests=2)
add("rsvp", "x02", 152, event_code="GALA-2026-06", guests=0)
add("rsvp", "x05", 153, event_code="GALA-2026-06", guests=1)
add("rsvp", "x03", 200, event_code="AUTUMN-SHOW", guests=1)
for c, day, kind in [("x01", 60, "restaurant_booking"), ("x04", 90, "private_jet"), ("x06", 95, "alterations"),
                     ("x02", 210, "tailoring"), ("x04", 300, "restaurant_booking")]:
    add("concierge_request", c, day, kind=kind)

rows.sort(key=lambda r: r["time"])
for r in rows:
    r["time"] = r["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
rows.insert(30, {"type": "purchase", "id": "mc-usd", "client": "x06", "time": rows[29]["time"], "amount": "1200 USD",
                 "boutique": "Madrid"})
dup = next(i for i, r in enumerate(rows) if i > 50 and r["type"] == "purchase")
rows.insert(dup + 2, dict(rows[dup]))
rows.append({"type": "tick", "time": "2026-12-31T00:00:00Z"})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
print(f"{len(rows)} records")
