#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, cents, fmt_money, fmt_time, day_start  # noqa: E402

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[151])
bonus, offer = defaultdict(Decimal), defaultdict(Decimal)
ends = defaultdict(lambda: EPOCH)
last_offer = defaultdict(lambda: dt.date(1970, 1, 1))
names = defaultdict(lambda: "trader")
trades, deposits = defaultdict(Window), defaultdict(Window)
at_risk = defaultdict(bool)
paid = []
want = []


def segment(c, today, e):
    member = trades[c].count(today, 90) >= 10 and trades[c].count(today, 14) == 0
    if member != at_risk[c]:
        at_risk[c] = member
        e(None, "segment", segment="at_risk", member=member)


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        now = day_start(today)
        for c in clients:
            e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
            if at_risk[c] and (today - last_offer[c]).days >= 60:
                n = deposits[c].count(today, 90)
                avg = cents(deposits[c].sum(today, 90) / n) if n else Decimal(0)
                offer[c] = min(max(cents(avg * Decimal("0.1")), Decimal(25)), Decimal(250))
                e("make_offer", "set", var="offer", value=fmt_money(offer[c]))
                ends[c] = now + dt.timedelta(days=14)
                e("make_offer", "set", var="offer_ends", value=fmt_time(ends[c]))
                last_offer[c] = today
                e("make_offer", "set", var="last_offer", value=str(today))
                e("make_offer", "notify", template="winback_offer",
                  data={"name": names[c], "bonus": fmt_money(offer[c]), "deposit_by": fmt_time(ends[c])})
            if offer[c] > 0 and (ends[c].date() - today).days == 3:
                e("remind", "notify", template="winback_reminder",
                  data={"name": names[c], "bonus": fmt_money(offer[c]), "deposit_by": fmt_time(ends[c])})
            if offer[c] > 0 and now >= ends[c]:
                e("offer_lapsed", "emit", name="winback_lapsed", data={"offer": fmt_money(offer[c])})
                offer[c] = Decimal(0)
                e("offer_lapsed", "set", var="offer", value="0.00")
            segment(c, today, e)
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today = r["_time"].date()
    if r["type"] == "trade":
        trades[c].add(today)
    else:
        amount = money(r["amount"])
        deposits[c].add(today, amount)
        if offer[c] > 0 and r["_time"] < ends[c] and amount >= 100:
            used = sum((x for d, x in paid if today - d < dt.timedelta(days=30)), Decimal(0))
            if used + offer[c] > 300:
                e("won_back", "skip", reason="budget", wallet="bonus", amount=fmt_money(offer[c]))
            else:
                paid.append((today, offer[c]))
                bonus[c] += offer[c]
                e("won_back", "credit", wallet="bonus", amount=fmt_money(offer[c]), balance=fmt_money(bonus[c]))
                e("won_back", "notify", template="welcome_back", data={"name": names[c], "bonus": fmt_money(offer[c])})
                offer[c] = Decimal(0)
                e("won_back", "set", var="offer", value="0.00")
    segment(c, today, e)

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(any(x["action"] == "skip" for x in ex.ledger), "the budget no longer stops a win-back")
chk.expect(sum(1 for x in ex.ledger if x.get("template") == "winback_offer" and x["client"] == "w02") == 2,
           "Beatriz no longer gets a second offer 60 days later")
chk.done()
