#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, cents, fmt_money  # noqa: E402

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[121])
bonus = defaultdict(Decimal)
attrs = defaultdict(lambda: {"name": "trader", "account": "standard"})
deposits, trades, withdrawals = defaultdict(Window), defaultdict(Window), defaultdict(Window)
fired = defaultdict(list)
paid = []  # (date, amount): the campaign's 30-day budget
want = []
D30 = dt.timedelta(days=30)

for _, r in (s for s in ex.steps() if s[0] == "record"):
    c = r["client"]
    if r["type"] == "profile":
        attrs[c].update({k: r[k] for k in ("name", "account") if k in r})
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today = r["_time"].date()
    if r["type"] == "trade":
        trades[c].add(today)
    elif r["type"] == "withdrawal":
        withdrawals[c].add(today)
    elif r["type"] == "deposit":
        amount, a = money(r["amount"]), attrs[c]
        deposits[c].add(today)
        later = deposits[c].count(today) >= 2 and amount >= 200
        recent = [d for d in fired[(c, "redeposit")] if today - d < D30]
        if (len(recent) < 2 and later and trades[c].count(today, 30) > 0 and withdrawals[c].count(today, 7) == 0):
            rate = Decimal("0.20") if amount >= 5000 else Decimal("0.15") if amount >= 1000 else Decimal("0.10")
            rate += Decimal("0.05") if a["account"] == "vip" else 0
            cap = {"vip": 2500, "pro": 1000}.get(a["account"], 500)
            b = min(cents(amount * rate), Decimal(cap))
            used = sum((x for d, x in paid if today - d < D30), Decimal(0))
            if used + b > 10_000:
                e("redeposit", "skip", reason="budget", wallet="bonus", amount=fmt_money(b))
            else:
                paid.append((today, b))
                bonus[c] += b
                e("redeposit", "credit", wallet="bonus", amount=fmt_money(b), balance=fmt_money(bonus[c]))
                e("redeposit", "notify", template="redeposit_bonus",
                  data={"name": a["name"], "deposit": fmt_money(amount), "balance": fmt_money(bonus[c])})
                fired[(c, "redeposit")].append(today)
        if not [d for d in fired[(c, "trade_first")] if today - d < D30] and later and trades[c].count(today, 30) == 0:
            e("trade_first", "notify", template="trade_to_unlock", data={"name": a["name"]})
            fired[(c, "trade_first")].append(today)
        if later and withdrawals[c].count(today, 7) > 0:
            e("cooling_off", "notify", template="no_bonus_after_withdrawal", data={"name": a["name"]})

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(any(x["action"] == "skip" for x in ex.ledger), "the campaign budget no longer runs out")
chk.expect(any(x["rule"] == "cooling_off" for x in ex.ledger), "no deposit after a withdrawal")
chk.done()
