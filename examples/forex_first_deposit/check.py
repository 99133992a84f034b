#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import math
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, entry, money, cents, fmt_money  # noqa: E402

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[71])
bonus, released = defaultdict(Decimal), defaultdict(Decimal)
attrs = defaultdict(lambda: {"name": "trader", "country": "", "kyc_verified": False})
done = defaultdict(set)  # rules that completed their one firing, per client
budget = {"first_deposit_bonus": Decimal(0), "release": Decimal(0)}
want = []

for _, r in (s for s in ex.steps() if s[0] == "record"):
    c = r["client"]
    if r["type"] == "profile":
        attrs[c].update({k: r[k] for k in ("name", "country", "kyc_verified") if k in r})
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    a = attrs[c]
    if r["type"] == "deposit":
        amount, first = money(r["amount"]), r.get("first", False)
        if ("first_deposit_bonus" not in done[c] and first and a["kyc_verified"] and amount >= 100
                and a["country"] not in ("US", "CA", "IR", "KP", "BE")):
            rate = "0.5" if amount >= 5000 else "0.4" if amount >= 1000 else "0.3" if amount >= 500 else "0.2"
            b = min(cents(amount * Decimal(rate)), Decimal(2000))
            if budget["first_deposit_bonus"] + b > 6000:
                e("first_deposit_bonus", "skip", reason="budget", wallet="bonus", amount=fmt_money(b))
            else:
                budget["first_deposit_bonus"] += b
                bonus[c] += b
                e("first_deposit_bonus", "credit", wallet="bonus", amount=fmt_money(b), balance=fmt_money(bonus[c]))
                e("first_deposit_bonus", "notify", template="first_deposit_bonus",
                  data={"name": a["name"], "deposit": fmt_money(amount), "bonus": fmt_money(bonus[c]),
                        "lots_to_release": math.ceil(bonus[c] / 10)})
                done[c].add("first_deposit_bonus")
        if "verify_first" not in done[c] and first and not a["kyc_verified"]:
            e("verify_first", "notify", template="verify_for_bonus", data={"name": a["name"]})
            done[c].add("verify_first")
    elif r["type"] == "trade":
        if bonus[c] > 0:
            step = min(bonus[c], cents(money(r["lots"]) * 10))
            if step > 0:
                assert budget["release"] + step <= 6000
                budget["release"] += step
                released[c] += step
                e("release", "credit", wallet="released", amount=fmt_money(step), balance=fmt_money(released[c]))
                bonus[c] -= step
                e("release", "debit", wallet="bonus", amount=fmt_money(step), balance=fmt_money(bonus[c]))
            if bonus[c] == 0:
                e("release", "notify", template="bonus_fully_released", data={"name": a["name"], "released": fmt_money(released[c])})
    elif r["type"] == "withdrawal":
        if bonus[c] > 0:
            e("forfeit", "emit", name="bonus_forfeited", data={"amount": fmt_money(bonus[c]), "withdrawal": fmt_money(money(r["amount"]))})
            e("forfeit", "debit", wallet="bonus", amount=fmt_money(bonus[c]), balance="0.00")
            bonus[c] = Decimal(0)

chk.same_entries("the whole ledger", want, ex.ledger)
skips = [x["client"] for x in ex.ledger if x["action"] == "skip"]
chk.expect(skips == ["c12", "c13"], f"the budget skips moved: {skips}")
chk.done()
