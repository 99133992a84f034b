#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, entry, money, cents, fmt_money  # noqa: E402

RATES = {"travel": Decimal("0.05"), "fuel": Decimal("0.03"), "dining": Decimal("0.02"), "groceries": Decimal("0.01")}
OTHER = Decimal("0.005")
CAP, MIN_PAYOUT, PROMO_BUDGET = Decimal("25"), Decimal("10"), Decimal("30")
PROMO = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[51, 121])
wallet = defaultdict(Decimal)
start = defaultdict(lambda: dt.date(1970, 1, 1))
paid = defaultdict(Decimal)
names = defaultdict(lambda: "cardholder")
promo_used = Decimal(0)
want = []

for _, r in (s for s in ex.steps() if s[0] == "record"):
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today = r["_time"].date()
    if r["type"] == "purchase":
        amount, cat = money(r["amount"]), r["category"]
        if (today - start[c]).days >= 30:
            start[c], paid[c] = today, Decimal(0)
            e("card_cashback", "set", var="period_start", value=str(today))
            e("card_cashback", "set", var="period_paid", value="0.00")
        earned = min(cents(amount * RATES.get(cat, OTHER)), CAP - paid[c])
        e("card_cashback", "set", var="earned", value=fmt_money(earned))
        if earned > 0:
            wallet[c] += earned
            e("card_cashback", "credit", wallet="cashback", amount=fmt_money(earned), balance=fmt_money(wallet[c]))
        paid[c] += earned
        e("card_cashback", "set", var="period_paid", value=fmt_money(paid[c]))
        if earned > 0 and paid[c] == CAP:
            e("card_cashback", "notify", template="cashback_cap_reached",
              data={"name": names[c], "cap": "25.00", "period_start": str(start[c])})
        if cat == "dining" and PROMO[0] <= today <= PROMO[1]:
            extra = cents(amount * Decimal("0.02"))
            if extra > 0 and extra > PROMO_BUDGET - promo_used:
                e("dining_promo", "skip", reason="budget", wallet="cashback", amount=fmt_money(extra))
            elif extra > 0:
                promo_used += extra
                wallet[c] += extra
                e("dining_promo", "credit", wallet="cashback", amount=fmt_money(extra), balance=fmt_money(wallet[c]))
    elif r["type"] == "refund":
        take = min(cents(money(r["amount"]) * RATES.get(r["category"], OTHER)), wallet[c])
        if take > 0:
            wallet[c] -= take
            e("refund_cashback", "debit", wallet="cashback", amount=fmt_money(take), balance=fmt_money(wallet[c]))
    elif r["type"] == "payout":
        if wallet[c] >= MIN_PAYOUT:
            e("pay_out", "emit", name="transfer_cashback", data={"amount": fmt_money(wallet[c])})
            e("pay_out", "debit", wallet="cashback", amount=fmt_money(wallet[c]), balance="0.00")
            wallet[c] = Decimal(0)
        else:
            e("pay_out", "notify", template="payout_below_minimum",
              data={"balance": fmt_money(wallet[c]), "minimum": "10.00"})

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(sum(1 for x in ex.ledger if x["action"] == "skip") >= 2, "the promotion budget no longer runs out")
chk.expect(sum(1 for x in ex.ledger if x.get("template") == "cashback_cap_reached") >= 2, "nobody reaches the cap")
chk.done()
