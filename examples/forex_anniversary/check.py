#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, anniversary, entry, fmt_money  # noqa: E402

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[21])
bonus = defaultdict(Decimal)
years = defaultdict(int)
attrs = defaultdict(lambda: {"name": "trader", "opened": "1970-01-01", "birthdate": "1970-01-01"})
trades = defaultdict(Window)
badges = defaultdict(set)
want = []


def full_years(opened, today):
    """Counted on the calendar, not by dividing days: the years since the opening date."""
    o = dt.date.fromisoformat(opened)
    n = today.year - o.year
    return n if (today.month, today.day) >= (o.month, o.day) or (o.month, o.day) == (2, 29) else n - 1


for step in ex.steps():
    if step[0] == "record":
        r = step[1]
        if r["type"] == "profile":
            attrs[r["client"]].update({k: r[k] for k in ("name", "opened", "birthdate") if k in r})
        elif r["type"] == "trade":
            trades[r["client"]].add(r["_time"])
        continue
    _, today, clients = step
    for c in clients:
        e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
        a = attrs[c]
        if anniversary(a["opened"], today):
            years[c] = full_years(a["opened"], today)
            e("count_years", "set", var="years_open", value=years[c])
            if trades[c].count(today, 90) > 0:
                b = Decimal(25 * min(years[c], 5))
                bonus[c] += b
                e("anniversary_bonus", "credit", wallet="bonus", amount=fmt_money(b), balance=fmt_money(bonus[c]))
                e("anniversary_bonus", "notify", template="account_anniversary",
                  data={"name": a["name"], "years": years[c], "bonus": fmt_money(b)})
            else:
                e("anniversary_come_back", "notify", template="anniversary_come_back", data={"name": a["name"], "years": years[c]})
            for badge, n in (("five_years", 5), ("ten_years", 10)):
                if years[c] >= n and badge not in badges[c]:
                    badges[c].add(badge)
                    e("milestones", "grant", badge=badge)
        if anniversary(a["birthdate"], today):
            e("birthday", "notify", template="happy_birthday", data={"name": a["name"]})
            if trades[c].count(today, 30) > 0:
                bonus[c] += 10
                e("birthday", "credit", wallet="bonus", amount="10.00", balance=fmt_money(bonus[c]))

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(any(x["client"] == "y03" and x["trigger"] == "day:2026-02-28" for x in ex.ledger), "the leap-day account has no anniversary")
chk.expect(not any(x["client"] == "y07" and x["rule"] != "birthday" for x in ex.ledger), "an account opened in 2026 had an anniversary")
chk.done()
