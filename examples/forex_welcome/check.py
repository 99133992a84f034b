#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, Tiers, entry, money, cents, fmt_money, floor_int, day_start  # noqa: E402

TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[23])
bonus, points = defaultdict(Decimal), defaultdict(int)
attrs = defaultdict(lambda: {"country": "CY", "name": "trader"})
tiers = defaultdict(lambda: Tiers([None, None, dt.timedelta(days=14), dt.timedelta(days=30)]))
volume, deposits = defaultdict(Window), defaultdict(Window)
high_value = defaultdict(bool)
welcomed = set()
redeposit_days = defaultdict(list)
budget_welcome, redeposit_paid = Decimal(0), []  # (date, amount) for the 30-day budget
badges = defaultdict(set)
want = []


def reevaluate(c, now, e):
    today = now.date()
    v = volume[c].sum(today, 30)
    prev = tiers[c].evaluate(now, [v >= 250_000, v >= 1_000_000, v >= 3_000_000])
    if prev is not None:
        t = tiers[c].tier
        e(None, "tier", **{"from": TIERS[prev], "to": TIERS[t]})
        if t > prev:
            e("tier_up", "notify", template="tier_up",
              data={"name": attrs[c]["name"], "from": TIERS[prev], "to": TIERS[t], "points": points[c]})
            if t == 3 and "platinum_trader" not in badges[c]:
                badges[c].add("platinum_trader")
                e("tier_up", "grant", badge="platinum_trader")
    member = deposits[c].sum(today, 30) >= 5000
    if member != high_value[c]:
        high_value[c] = member
        e(None, "segment", segment="high_value", member=member)


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        for c in clients:
            reevaluate(c, day_start(today), lambda rule, action, **kw: want.append(
                entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw)))
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        attrs[c].update({k: r[k] for k in ("country", "name") if k in r})
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today, tier = r["_time"].date(), tiers[c].tier
    if r["type"] == "deposit":
        amount, first = money(r["amount"]), r.get("first", False)
        deposits[c].add(today, amount)
        if c not in welcomed and first and amount >= 100 and attrs[c]["country"] != "US":
            b = min(cents(amount * Decimal("0.3")), Decimal(500))
            if b > 0 and budget_welcome + b <= 100_000:
                budget_welcome += b
                bonus[c] += b
                welcomed.add(c)
                e("welcome", "credit", wallet="bonus", amount=fmt_money(b), balance=fmt_money(bonus[c]))
                e("welcome", "notify", template="welcome_bonus", data={"name": attrs[c]["name"], "deposit": fmt_money(amount),
                                                                       "bonus": fmt_money(bonus[c]), "method": r.get("method", "card")})
        recent = [d for d in redeposit_days[c] if today - d < dt.timedelta(days=30)]
        if len(recent) < 3 and not first and amount >= 200 and attrs[c]["country"] != "US":
            rate = [Decimal("0.05"), Decimal("0.07"), Decimal("0.10"), Decimal("0.15")][tier]
            b = min(cents(amount * rate), Decimal(1000))
            used = sum((a for d, a in redeposit_paid if today - d < dt.timedelta(days=30)), Decimal(0))
            if b > 0 and used + b <= 50_000:
                redeposit_paid.append((today, b))
                bonus[c] += b
                redeposit_days[c].append(today)
                e("redeposit", "credit", wallet="bonus", amount=fmt_money(b), balance=fmt_money(bonus[c]))
    elif r["type"] == "trade":
        volume[c].add(today, money(r["volume"]))
        sym = r["symbol"]
        per_lot = 20 if sym in ("XAUUSD", "XAGUSD") else 10 if sym in ("EURUSD", "GBPUSD", "USDJPY") else 5
        n = floor_int(money(r["lots"]) * per_lot * (2 if tier >= 2 else 1))
        if n > 0:
            points[c] += n
            e("trade_points", "credit", wallet="points", amount=n, balance=points[c])
    reevaluate(c, r["_time"], e)

chk.same_entries("the whole ledger", want, ex.ledger)
chk.done()
