#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, floor_int, fmt_time  # noqa: E402

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[31, 62])
points = defaultdict(int)
names = defaultdict(lambda: "reader")
welcomed = set()
purchases, redeems = defaultdict(Window), defaultdict(Window)
want = []

for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        t = f"{today}T00:00:00Z"
        for c in clients:
            active = lambda n: purchases[c].count(today, n) + redeems[c].count(today, n)
            if points[c] > 0 and active(77) > 0 and active(76) == 0:
                want.append(entry(f"day:{today}", c, t, "expiry_reminder", "notify", template="points_expiring",
                                  data={"name": names[c], "points": points[c]}))
            if points[c] > 0 and active(90) == 0:
                want.append(entry(f"day:{today}", c, t, "expire", "emit", name="points_expired", data={"points": points[c]}))
                want.append(entry(f"day:{today}", c, t, "expire", "debit", wallet="points", amount=points[c], balance=0))
                points[c] = 0
        continue
    r = step[1]
    if r["type"] == "profile":
        names[r["client"]] = r.get("name", names[r["client"]])
        continue
    if r["type"] == "tick":
        continue
    c, e = r["client"], lambda rule, action, **kw: want.append(entry(r["id"], r["client"], r["time"], rule, action, **kw))
    if r["type"] == "purchase":
        purchases[c].add(r["_time"])
        if c not in welcomed:
            welcomed.add(c)
            points[c] += 200
            e("welcome", "credit", wallet="points", amount=200, balance=points[c])
            e("welcome", "notify", template="welcome", data={"name": names[c], "points": 200})
        n = floor_int(money(r["amount"])) * (2 if r.get("channel", "store") == "app" else 1)
        if n > 0:
            points[c] += n
            e("earn", "credit", wallet="points", amount=n, balance=points[c])
    elif r["type"] == "redeem":
        redeems[c].add(r["_time"])
        if points[c] >= r["cost"]:
            points[c] -= r["cost"]
            e("redeem_reward", "debit", wallet="points", amount=r["cost"], balance=points[c])
            e("redeem_reward", "emit", name="issue_reward", data={"reward": r["reward"], "cost": r["cost"], "left": points[c]})
        else:
            e("redeem_reward", "notify", template="not_enough_points",
              data={"reward": r["reward"], "missing": r["cost"] - points[c]})
    elif r["type"] == "refund":
        take = min(floor_int(money(r["amount"])), points[c])
        if take > 0:
            points[c] -= take
            e("refund_points", "debit", wallet="points", amount=take, balance=points[c])

chk.same_entries("the whole ledger", want, ex.ledger)
# The planted cases really happen.
chk.expect(any(x["rule"] == "redeem_reward" and x["action"] == "notify" for x in ex.ledger), "no refused redemption")
chk.expect(any(x["rule"] == "expire" for x in ex.ledger), "nobody's points expired")
chk.expect(ex.duplicates == 1, "the planted duplicate moved")
chk.done()
