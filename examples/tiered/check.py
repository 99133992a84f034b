#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, Tiers, entry, money, floor_int, day_start  # noqa: E402

TIERS = ["Member", "Silver", "Gold", "Platinum"]
HOLD = dt.timedelta(days=60)
RATE = [Decimal("1.0"), Decimal("1.25"), Decimal("1.5"), Decimal("2.0")]
GIFT = [0, 200, 500, 1000]

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[79])
points = defaultdict(int)
best = defaultdict(int)
names = defaultdict(lambda: "member")
tiers = defaultdict(lambda: Tiers([None, None, HOLD, HOLD]))
bought, returned = defaultdict(Window), defaultdict(Window)
want = []


def reevaluate(c, now, trigger, time):
    net = bought[c].sum(now.date(), 90) - returned[c].sum(now.date(), 90)
    t = tiers[c]
    prev = t.evaluate(now, [net >= 500, net >= 1500, net >= 4000])
    if prev is None:
        return
    e = lambda rule, action, **kw: want.append(entry(trigger, c, time, rule, action, **kw))
    e(None, "tier", **{"from": TIERS[prev], "to": TIERS[t.tier]})
    if t.tier > prev:
        e("tier_up", "notify", template="tier_up", data={"name": names[c], "from": TIERS[prev], "to": TIERS[t.tier]})
        if t.tier > best[c]:
            points[c] += GIFT[t.tier]
            e("tier_up", "credit", wallet="points", amount=GIFT[t.tier], balance=points[c])
            e("tier_up", "set", var="best_tier", value=TIERS[t.tier])
            best[c] = t.tier
    else:
        e("tier_down", "notify", template="tier_down", data={"name": names[c], "from": TIERS[prev], "to": TIERS[t.tier]})


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        for c in clients:
            reevaluate(c, day_start(today), f"day:{today}", f"{today}T00:00:00Z")
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    if r["type"] == "purchase":
        bought[c].add(r["_time"], money(r["amount"]))
        n = floor_int(money(r["amount"]) * RATE[tiers[c].tier])
        if n > 0:
            points[c] += n
            e("earn", "credit", wallet="points", amount=n, balance=points[c])
        if tiers[c].tier >= 2 and r.get("channel", "store") == "web":
            e("free_shipping", "emit", name="free_shipping", data={"order": r["id"]})
    else:
        returned[c].add(r["_time"], money(r["amount"]))
        take = min(floor_int(money(r["amount"])), points[c])
        if take > 0:
            points[c] -= take
            e("take_back", "debit", wallet="points", amount=take, balance=points[c])
    reevaluate(c, r["_time"], r["id"], r["time"])

chk.same_entries("the whole ledger", want, ex.ledger)
tier_moves = [(x["client"], x["to"]) for x in ex.ledger if x["action"] == "tier"]
chk.expect(("s01", "Platinum") in tier_moves and ("s01", "Member") in tier_moves, "Sofia's rise and fall moved")
chk.expect(("s04", "Gold") in tier_moves, "Tomás's large order no longer reaches Gold")
chk.done()
