#!/usr/bin/env python3
"""Independent check of expected.jsonl: the rules' entries re-computed from the spec in Python.

The rules read no tier or segment, so their entries follow from the records alone; the tier
and segment entries are checked for presence only. `worth` and `revenue` change no entry:
tests/report/test_report.py checks the report's cost and revenue figures on this example."""
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, entry, money, cents, fmt_money, floor_int  # noqa: E402

RULES = ("first_deposit", "lot_points", "full_lot_stamp", "redeem_reward")
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[])
points, stamps, bonus = defaultdict(int), defaultdict(int), defaultdict(Decimal)
bonus_done = set()
budget_used = Decimal(0)
want = []

for r in ex.records:
    if r["type"] == "profile":
        continue
    c = r["client"]
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    if r["type"] == "deposit":
        amount = money(r["amount"])
        if amount >= 200 and c not in bonus_done:
            pay = min(cents(amount * Decimal("0.10")), Decimal(50))
            if budget_used + pay > 250:
                e("first_deposit", "skip", reason="budget", wallet="bonus", amount=fmt_money(pay))
            else:
                budget_used += pay
                bonus[c] += pay
                bonus_done.add(c)
                e("first_deposit", "credit", wallet="bonus", amount=fmt_money(pay), balance=fmt_money(bonus[c]))
    elif r["type"] == "trade":
        lots = money(r["lots"])
        if not r.get("demo", False):
            n = floor_int(lots * 100)
            if n > 0:
                points[c] += n
                e("lot_points", "credit", wallet="points", amount=n, balance=points[c])
            if lots >= 1:
                stamps[c] += 1
                e("full_lot_stamp", "credit", wallet="stamps", amount=1, balance=stamps[c])
    elif r["type"] == "redeem":
        cost = int(r["points"])
        if points[c] >= cost:
            points[c] -= cost
            e("redeem_reward", "debit", wallet="points", amount=cost, balance=points[c])
            e("redeem_reward", "emit", name="issue_reward", data={"reward": r["reward"], "points": cost})

chk.same_entries("the rules' entries", want, chk.rules(*RULES))
chk.expect(any(x["action"] == "skip" for x in want), "the bonus budget no longer runs out")
chk.expect(any(x["action"] == "debit" for x in want), "no redemption goes through")
chk.expect(any(r["type"] == "redeem" and r["points"] > 1000 for r in ex.records), "no redemption asks too much")
chk.expect(any(x["action"] == "tier" and x["to"] == "Gold" for x in ex.ledger), "nobody reaches Gold")
chk.expect(any(x["action"] == "segment" for x in ex.ledger), "nobody enters the active segment")
chk.expect(ex.duplicates == 1, "the duplicate record is gone")
chk.done()
