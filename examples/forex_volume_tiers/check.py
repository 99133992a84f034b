#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, Tiers, entry, money, cents, fmt_money, day_start  # noqa: E402

TIERS = ["Standard", "Silver", "Gold", "VIP"]
LINE = [0, 20, 100, 400]
RATE = [Decimal(0), Decimal(1), Decimal("2.5"), Decimal(4)]
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[301])
rebate = defaultdict(Decimal)
names = defaultdict(lambda: "trader")
tiers = defaultdict(lambda: Tiers([None, None, dt.timedelta(days=30), dt.timedelta(days=60)]))
lots = defaultdict(Window)
on_hold_days = defaultdict(list)
paid = []
want = []


def dec(x):
    """A decimal as the ledger writes it: no trailing zeros."""
    s = format(Decimal(x).normalize(), "f")
    return s


def reevaluate(c, now, e):
    v = lots[c].sum(now.date(), 30)
    prev = tiers[c].evaluate(now, [v >= 20, v >= 100, v >= 400])
    if prev is None:
        return
    t = tiers[c].tier
    e(None, "tier", **{"from": TIERS[prev], "to": TIERS[t]})
    if t > prev:
        e("upgraded", "notify", template="tier_upgraded", data={"name": names[c], "tier": TIERS[t], "rebate_per_lot": fmt_money(RATE[t])})
        if t == 3:
            e("upgraded", "emit", name="assign_account_manager", data={"name": names[c]})
    else:
        e("downgraded", "notify", template="tier_downgraded",
          data={"name": names[c], "from": TIERS[prev], "to": TIERS[t], "lots_to_return": dec(LINE[prev] - v)})


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        for c in clients:
            e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
            t, v = tiers[c].tier, lots[c].sum(today, 30)
            recent = [d for d in on_hold_days[c] if today - d < dt.timedelta(days=30)]
            if not recent and ((t == 3 and v < 400) or (t == 2 and v < 100)):
                e("on_hold", "notify", template="tier_on_hold", data={"name": names[c], "tier": TIERS[t], "lots_30_days": dec(v)})
                on_hold_days[c].append(today)
            reevaluate(c, day_start(today), e)
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today, n = r["_time"].date(), money(r["lots"])
    lots[c].add(today, n)
    b = cents(n * RATE[tiers[c].tier])
    if b > 0:
        assert sum((x for d, x in paid if today - d < dt.timedelta(days=30)), Decimal(0)) + b <= 50_000
        paid.append((today, b))
        rebate[c] += b
        e("lot_rebate", "credit", wallet="rebate", amount=fmt_money(b), balance=fmt_money(rebate[c]))
    reevaluate(c, r["_time"], e)

chk.same_entries("the whole ledger", want, ex.ledger)
moves = [(x["client"], x["to"]) for x in ex.ledger if x["action"] == "tier"]
chk.expect(("v01", "VIP") in moves and ("v04", "Gold") in moves, "the planted rises moved")
chk.done()
