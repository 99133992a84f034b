#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, fmt_money, fmt_time  # noqa: E402

SEGMENTS = ["loyal", "potential", "at_risk", "lost"]
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[201])
attrs = defaultdict(lambda: {"name": "trader", "opened": "1970-01-01"})
trades, deposits, logins = defaultdict(Window), defaultdict(Window), defaultdict(Window)
member = defaultdict(lambda: dict.fromkeys(SEGMENTS, False))
coached, surveyed = set(), set()
thanked = defaultdict(list)
want = []


def segments(c, today, e):
    age = (today - dt.date.fromisoformat(attrs[c]["opened"])).days
    t = trades[c]
    now = {
        "loyal": age >= 180 and t.count(today, 30) >= 8 and deposits[c].sum(today, 90) >= 1000,
        "potential": age <= 60 and deposits[c].sum(today) >= 500 and t.count(today, 30) < 8,
        "at_risk": t.count(today, 90) >= 10 and t.count(today, 14) == 0,
        "lost": t.count(today) > 0 and t.count(today, 60) == 0 and logins[c].count(today, 30) == 0,
    }
    for s in SEGMENTS:
        if now[s] != member[c][s]:
            member[c][s] = now[s]
            e(None, "segment", segment=s, member=now[s])


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        for c in clients:
            e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
            if member[c]["potential"] and c not in coached:
                e("onboarding", "emit", name="assign_onboarding_coach", data={"name": attrs[c]["name"], "opened": attrs[c]["opened"]})
                e("onboarding", "set", var="coached", value=True)
                coached.add(c)
            if member[c]["lost"] and c not in surveyed:
                e("exit_survey", "emit", name="send_exit_survey", data={"name": attrs[c]["name"]})
                e("exit_survey", "set", var="surveyed", value=True)
                surveyed.add(c)
            segments(c, today, e)
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        attrs[c].update({k: r[k] for k in ("name", "opened") if k in r})
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, fmt_time(r["_time"]), rule, action, **kw))
    today = r["_time"].date()
    if r["type"] == "trade":
        trades[c].add(today)
    elif r["type"] == "login":
        logins[c].add(today)
    else:
        deposits[c].add(today, money(r["amount"]))
        recent = [d for d in thanked[c] if today - d < dt.timedelta(days=90)]
        if not recent and member[c]["loyal"]:
            e("thank_loyal", "notify", template="thank_you", data={"name": attrs[c]["name"], "deposit": fmt_money(money(r["amount"]))})
            thanked[c].append(today)
    segments(c, today, e)

chk.same_entries("the whole ledger", want, ex.ledger)
entered = {(x["client"], x["segment"]) for x in ex.ledger if x["action"] == "segment" and x["member"]}
for c, s in [("z01", "loyal"), ("z03", "potential"), ("z02", "at_risk"), ("z02", "lost"), ("z10", "lost")]:
    chk.expect((c, s) in entered, f"{c} never enters {s}")
chk.expect(not any(c == "z09" for c, _ in entered), "a client who never traded entered a segment")
chk.done()
