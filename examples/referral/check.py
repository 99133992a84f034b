#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python,
and the simulated CRM loop: every `friend_qualified` record answers an emitted
`referral_qualified`."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, fmt_money  # noqa: E402

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[81])
credit, points = defaultdict(Decimal), defaultdict(int)
referrer, names = {}, defaultdict(lambda: "shopper")
fired = defaultdict(list)  # (client, rule) -> dates of completed firings
qualified = defaultdict(Window)
shares = defaultdict(Window)
badges = defaultdict(set)
want = []


def fired_within(c, rule, today, days=None):
    return sum(1 for d in fired[(c, rule)] if days is None or today - d < dt.timedelta(days=days))


for _, r in (s for s in ex.steps() if s[0] == "record"):
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today = r["_time"].date()
    if r["type"] == "signup":
        by = r.get("referred_by", "")
        if not fired_within(c, "remember_referrer", today) and by not in ("", c):
            referrer[c] = by
            e("remember_referrer", "set", var="referrer", value=by)
            fired[(c, "remember_referrer")].append(today)
    elif r["type"] == "order":
        if not fired_within(c, "friend_first_order", today) and c in referrer and money(r["amount"]) >= 50:
            credit[c] += 10
            e("friend_first_order", "credit", wallet="store_credit", amount="10.00", balance=fmt_money(credit[c]))
            e("friend_first_order", "notify", template="welcome_credit", data={"amount": "10.00"})
            e("friend_first_order", "emit", name="referral_qualified",
              data={"referrer": referrer[c], "friend": c, "order": r["id"]})
            fired[(c, "friend_first_order")].append(today)
    elif r["type"] == "friend_qualified":
        qualified[c].add(r["_time"])
        if fired_within(c, "pay_referrer", today, 365) < 5:
            credit[c] += 20
            e("pay_referrer", "credit", wallet="store_credit", amount="20.00", balance=fmt_money(credit[c]))
            e("pay_referrer", "notify", template="friend_joined",
              data={"name": names[c], "friend": r["friend"], "reward": "20.00"})
            fired[(c, "pay_referrer")].append(today)
        if qualified[c].count(today, 365) == 6:
            e("referral_cap", "notify", template="referral_limit_reached", data={"name": names[c]})
        if qualified[c].count(today) >= 3 and "ambassador" not in badges[c]:
            badges[c].add("ambassador")
            e("ambassador", "grant", badge="ambassador")
    elif r["type"] == "share":
        shares[c].add(r["_time"])
        if not fired_within(c, "share_points", today, 1) and shares[c].count(today, 7) <= 3:
            points[c] += 10
            e("share_points", "credit", wallet="points", amount=10, balance=points[c])
            fired[(c, "share_points")].append(today)
    elif r["type"] == "review":
        if not fired_within(c, "review_points", today) and r["words"] >= 20:
            points[c] += 50
            e("review_points", "credit", wallet="points", amount=50, balance=points[c])
            if r["stars"] >= 4:
                e("review_points", "emit", name="ask_for_public_review", data={"stars": r["stars"]})
            fired[(c, "review_points")].append(today)

chk.same_entries("the whole ledger", want, ex.ledger)
# The CRM loop: one friend_qualified per emitted referral_qualified, on the referrer, after it.
emitted = [(x["data"]["referrer"], x["data"]["friend"]) for x in ex.ledger if x.get("name") == "referral_qualified"]
fed_back = [(r["client"], r["friend"]) for r in ex.records if r["type"] == "friend_qualified"]
chk.expect(emitted == fed_back, f"the CRM loop is out of step: emitted {emitted}, fed back {fed_back}")
chk.expect(any(x["rule"] == "referral_cap" for x in ex.ledger), "nobody reaches the yearly referral limit")
chk.done()
