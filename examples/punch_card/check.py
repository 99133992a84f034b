#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, entry, money  # noqa: E402

LAUNCH = (dt.date(2026, 3, 9), dt.date(2026, 3, 15))
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[61])
stamps, free = defaultdict(int), defaultdict(int)
stamped_on = defaultdict(lambda: defaultdict(int))  # client -> date -> stamped purchases
qualifying = defaultdict(int)
badges = set()
want = []

for _, r in (s for s in ex.steps() if s[0] == "record"):
    c = r["client"]
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today = r["_time"].date()
    if r["type"] == "purchase":
        big = money(r["amount"]) >= Decimal(3)
        qualifying[c] += big
        # stamp: the limit is checked before `when`; only completed firings count.
        if stamped_on[c][today] < 2 and big:
            n = 2 if r.get("store") == "Harbour" and LAUNCH[0] <= today <= LAUNCH[1] else 1
            stamps[c] += n
            e("stamp", "credit", wallet="stamps", amount=n, balance=stamps[c])
            stamped_on[c][today] += 1
        if stamps[c] >= 10:
            stamps[c] -= 10
            e("card_full", "debit", wallet="stamps", amount=10, balance=stamps[c])
            free[c] += 1
            e("card_full", "credit", wallet="free_drinks", amount=1, balance=free[c])
            e("card_full", "notify", template="free_drink_earned", data={"free_drinks": free[c], "stamps_left": stamps[c]})
        if qualifying[c] >= 30 and c not in badges:
            badges.add(c)
            e("regular", "grant", badge="regular")
    elif r["type"] == "claim":
        if free[c] > 0:
            free[c] -= 1
            e("take_free_drink", "debit", wallet="free_drinks", amount=1, balance=free[c])
            e("take_free_drink", "emit", name="free_drink_served", data={"store": r.get("store", "Central")})
        else:
            e("take_free_drink", "notify", template="no_free_drink", data={"stamps": stamps[c], "stamps_needed": 10 - stamps[c]})

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(any(v > 2 for d in stamped_on.values() for v in d.values()) or
           any(sum(1 for x in ex.records if x.get("client") == c and x["type"] == "purchase" and x["_time"].date() == d) > 2
               for c, days in stamped_on.items() for d in days), "no day with a third purchase")
chk.expect(any(x.get("amount") == 2 and x["rule"] == "stamp" for x in ex.ledger), "no double stamps in the launch week")
chk.done()
