#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, floor_int  # noqa: E402

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[71])
miles, credit = defaultdict(int), defaultdict(Decimal)
names = defaultdict(lambda: "member")
by_group = defaultdict(lambda: defaultdict(Window))  # client -> partner group -> purchases
explorer_days = defaultdict(list)
stayed = set()
budget_left = Decimal(100)
want = []
EARN = {"skywest": ("air_miles", lambda a: floor_int(a) * 5), "stayinn": ("hotel_miles", lambda a: floor_int(a) * 3),
        "roadly": ("car_miles", lambda a: floor_int(a) * 2), "freshmart": ("everyday_miles", lambda a: floor_int(a / 2)),
        "fuelgo": ("everyday_miles", lambda a: floor_int(a / 2))}
RULE_ORDER = ["air_miles", "hotel_miles", "car_miles", "everyday_miles"]

for _, r in (s for s in ex.steps() if s[0] == "record"):
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today = r["_time"].date()
    if r["type"] == "purchase":
        p, amount = r["partner"], money(r["amount"])
        group = "everyday" if p in ("freshmart", "fuelgo") else p
        by_group[c][group].add(r["_time"])  # recorded before the rules run
        if p in EARN:
            rule, f = EARN[p]
            n = f(amount)
            if n > 0:
                miles[c] += n
                e(rule, "credit", wallet="miles", amount=n, balance=miles[c])
        used = sum(1 for g in ("skywest", "stayinn", "roadly", "everyday") if by_group[c][g].count(today, 30) > 0)
        recent = [d for d in explorer_days[c] if today - d < dt.timedelta(days=60)]
        if not recent and used >= 3:
            miles[c] += 1000
            e("explorer", "credit", wallet="miles", amount=1000, balance=miles[c])
            e("explorer", "notify", template="explorer_bonus", data={"name": names[c], "miles": 1000})
            explorer_days[c].append(today)
        if p == "stayinn" and c not in stayed:
            if budget_left < 20:
                e("first_stay", "skip", reason="budget", wallet="travel_credit", amount="20.00")
            else:
                budget_left -= 20
                credit[c] += 20
                e("first_stay", "credit", wallet="travel_credit", amount="20.00", balance=f"{credit[c]:.2f}")
                e("first_stay", "notify", template="travel_credit", data={"name": names[c], "amount": "20.00"})
                stayed.add(c)
    elif r["type"] == "redeem":
        if miles[c] >= r["miles"]:
            miles[c] -= r["miles"]
            e("award", "debit", wallet="miles", amount=r["miles"], balance=miles[c])
            e("award", "emit", name="issue_award", data={"partner": r["partner"], "award": r["award"], "miles": r["miles"]})
        else:
            e("award", "notify", template="not_enough_miles", data={"award": r["award"], "missing": r["miles"] - miles[c]})

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(any(x["action"] == "skip" for x in ex.ledger), "the hotel budget no longer runs out")
chk.expect(any(len(v) > 1 for v in explorer_days.values()), "nobody earns the explorer bonus twice")
chk.done()
