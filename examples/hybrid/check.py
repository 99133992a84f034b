#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import (Example, Checker, Window, Tiers, anniversary, entry, money, cents, fmt_money,  # noqa: E402
                       floor_int, day_start)

TIERS = ["Blue", "Silver", "Gold"]
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[151])
points, vouchers, cashback = defaultdict(int), defaultdict(Decimal), defaultdict(Decimal)
attrs = defaultdict(lambda: {"name": "shopper", "birthdate": "1970-01-01"})
tiers = defaultdict(lambda: Tiers([None, None, dt.timedelta(days=30)]))
baskets, organic = defaultdict(Window), defaultdict(Window)
seg = defaultdict(lambda: {"weekly_shopper": False, "drifting": False})
last_nudge = defaultdict(lambda: dt.date(1970, 1, 1))
challenge_days = defaultdict(list)
badges = defaultdict(set)
want = []


def reevaluate(c, now, e):
    today = now.date()
    prev = tiers[c].evaluate(now, [baskets[c].count(today, 30) >= 6, baskets[c].count(today, 30) >= 12])
    if prev is not None:
        e(None, "tier", **{"from": TIERS[prev], "to": TIERS[tiers[c].tier]})
        if tiers[c].tier == 2:
            e("gold_welcome", "notify", template="gold_welcome", data={"name": attrs[c]["name"]})
    for name, member in [("weekly_shopper", baskets[c].count(today, 7) >= 1),
                         ("drifting", baskets[c].count(today) >= 3 and baskets[c].count(today, 21) == 0)]:
        if member != seg[c][name]:
            seg[c][name] = member
            e(None, "segment", segment=name, member=member)


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        for c in clients:
            e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
            if seg[c]["drifting"] and (today - last_nudge[c]).days >= 60:
                e("we_miss_you", "emit", name="send_coupon", data={"name": attrs[c]["name"], "coupon": "COME-BACK-5"})
                last_nudge[c] = today
                e("we_miss_you", "set", var="last_nudge", value=str(today))
            reevaluate(c, day_start(today), e)
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        attrs[c].update({k: r[k] for k in ("name", "birthdate") if k in r})
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today, amount, fresh = r["_time"].date(), money(r["amount"]), money(r.get("fresh", "0"))
    baskets[c].add(today)
    if r.get("organic", False):
        organic[c].add(today)
    tier = tiers[c].tier
    n = floor_int(amount) * [1, 2, 3][tier] * (2 if anniversary(attrs[c]["birthdate"], today) else 1)
    if n > 0:
        points[c] += n
        e("earn", "credit", wallet="points", amount=n, balance=points[c])
    if tier == 2 and fresh <= amount:
        back = cents(fresh * Decimal("0.02"))
        if back > 0:
            cashback[c] += back
            e("fresh_cashback", "credit", wallet="cashback", amount=fmt_money(back), balance=fmt_money(cashback[c]))
    recent = [d for d in challenge_days[c] if today - d < dt.timedelta(days=30)]
    if not recent and r.get("organic", False) and organic[c].count(today, 30) >= 5:
        challenge_days[c].append(today)
        if "green_basket" not in badges[c]:
            badges[c].add("green_basket")
            e("organic_challenge", "grant", badge="green_basket")
        points[c] += 100
        e("organic_challenge", "credit", wallet="points", amount=100, balance=points[c])
        e("organic_challenge", "notify", template="challenge_done", data={"name": attrs[c]["name"], "challenge": "organic_5"})
    if points[c] >= 500:
        k = points[c] // 500
        vouchers[c] += 5 * k
        e("voucher", "credit", wallet="vouchers", amount=fmt_money(5 * k), balance=fmt_money(vouchers[c]))
        points[c] -= 500 * k
        e("voucher", "debit", wallet="points", amount=500 * k, balance=points[c])
        e("voucher", "notify", template="voucher_ready", data={"name": attrs[c]["name"], "vouchers": fmt_money(vouchers[c])})
    reevaluate(c, r["_time"], e)

chk.same_entries("the whole ledger", want, ex.ledger)
birthdays = [x for x in ex.ledger if x["rule"] == "earn" and x["client"] in ("h03", "h07")
             and x["time"][:10] in ("2026-02-25", "2026-02-28")]
chk.expect(len({x["client"] for x in birthdays}) == 2, "the birthday purchases moved")
chk.done()
