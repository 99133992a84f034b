#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, entry, money, floor_int, fmt_money, fmt_time, day_start  # noqa: E402

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
PREVIEW = dt.date(2026, 4, 20)
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[41, 92])
points, credit = defaultdict(int), defaultdict(Decimal)
until = defaultdict(lambda: EPOCH)
renew = defaultdict(bool)
plus = defaultdict(bool)        # the segment's stored membership
trials = set()
names = defaultdict(lambda: "foodie")
want = []


def segments(c, now, e):
    member = now < until[c]
    if member != plus[c]:
        plus[c] = member
        e(None, "segment", segment="plus", member=member)


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        now = day_start(today)
        for c in clients:
            e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
            if now >= until[c] and (today - until[c].date()).days == 1:
                e("plus_ended", "notify", template="plus_ended", data={"name": names[c], "had_cancelled": not renew[c]})
            if plus[c] and today == PREVIEW:
                e("early_access", "emit", name="early_access", data={"sale": "spring-sale-2026", "opens": "2026-04-20"})
            segments(c, now, e)
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c, now = r["client"], r["_time"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    if r["type"] == "trial":
        if c not in trials and not plus[c]:
            trials.add(c)
            until[c], renew[c] = now + dt.timedelta(days=14), True
            e("start_trial", "set", var="member_until", value=fmt_time(until[c]))
            e("start_trial", "set", var="auto_renew", value=True)
            e("start_trial", "notify", template="trial_started", data={"name": names[c], "until": fmt_time(until[c])})
    elif r["type"] == "subscription_paid":
        annual = r["plan"] == "annual"
        until[c] = max(until[c], now) + dt.timedelta(days=365 if annual else 30)
        e("period_paid", "set", var="member_until", value=fmt_time(until[c]))
        credit[c] += 60 if annual else 5
        e("period_paid", "credit", wallet="member_credit", amount="60.00" if annual else "5.00", balance=fmt_money(credit[c]))
        renew[c] = True
        e("period_paid", "set", var="auto_renew", value=True)
        e("period_paid", "notify", template="plus_renewed", data={"name": names[c], "plan": r["plan"], "until": fmt_time(until[c])})
    elif r["type"] == "order":
        amount = money(r["amount"])
        n = floor_int(amount) * (2 if plus[c] else 1)
        if n > 0:
            points[c] += n
            e("earn", "credit", wallet="points", amount=n, balance=points[c])
        if plus[c] and amount >= 15:
            e("free_delivery", "emit", name="waive_delivery_fee", data={"order": r["id"]})
        if credit[c] > 0:
            used = min(credit[c], amount)
            e("use_member_credit", "emit", name="apply_member_credit", data={"order": r["id"], "amount": fmt_money(used)})
            credit[c] -= used
            e("use_member_credit", "debit", wallet="member_credit", amount=fmt_money(used), balance=fmt_money(credit[c]))
    elif r["type"] == "cancel":
        if plus[c] and renew[c]:
            renew[c] = False
            e("cancel_plan", "set", var="auto_renew", value=False)
            e("cancel_plan", "notify", template="plus_cancelled",
              data={"name": names[c], "until": fmt_time(until[c]), "reason": r.get("reason", "")})
    segments(c, now, e)

chk.same_entries("the whole ledger", want, ex.ledger)
ended = {x["client"]: x["data"]["had_cancelled"] for x in ex.ledger if x["rule"] == "plus_ended"}
chk.expect(ended.get("f04") is True and ended.get("f07") is False and "f02" in ended, f"the planted endings moved: {ended}")
chk.done()
