#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python,
lots and pending credits included (spec §3, §5 step 2a)."""
import calendar
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, cents, floor_int, fmt_money  # noqa: E402


def add_months(d, n):
    """A calendar step: the day of the month clamped to the month's last day (spec §2)."""
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[])
lots = defaultdict(list)      # client -> [[expires, amount]] in credit order (= expiry order)
bonus = defaultdict(Decimal)
held = defaultdict(list)      # client -> [[until, amount]]
firings = defaultdict(Window)  # deposit_bonus's completed firings
want = []
points = lambda c: sum(a for _, a in lots[c])

for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        t = f"{today}T00:00:00Z"
        for c in clients:
            # Wallets in declaration order: points (expire), then bonus (release).
            gone = sum(a for e, a in lots[c] if e <= today)
            if gone:
                lots[c] = [[e, a] for e, a in lots[c] if e > today]
                want.append(entry(f"day:{today}", c, t, None, "expire", wallet="points", amount=gone, balance=points(c)))
            released = sum((a for u, a in held[c] if u <= today), Decimal(0))
            if released:
                held[c] = [[u, a] for u, a in held[c] if u > today]
                bonus[c] += released
                want.append(entry(f"day:{today}", c, t, None, "release", wallet="bonus", amount=fmt_money(released),
                                  balance=fmt_money(bonus[c])))
        continue
    r = step[1]
    c, today = r["client"], r["_time"].date()
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    if r["type"] == "trade":
        n = floor_int(Decimal(str(r["lots"])) * 10)
        if n > 0:
            lots[c].append([add_months(today, 12), n])
            e("trade_points", "credit", wallet="points", amount=n, balance=points(c))
    elif r["type"] == "deposit":
        amount = money(r["amount"])
        if firings[c].count(today, 30) < 3 and amount >= 100:
            b = cents(amount * Decimal("0.05"))
            until = today + dt.timedelta(days=7)
            held[c].append([until, b])
            firings[c].add(today)
            e("deposit_bonus", "credit", wallet="bonus", amount=fmt_money(b), balance=fmt_money(bonus[c]),
              pending=True, until=str(until))
    elif r["type"] == "redeem":
        want_points = r["points"]
        if points(c) >= want_points:
            take = want_points
            for lot in lots[c]:  # oldest expiry first
                t = min(take, lot[1])
                lot[1] -= t
                take -= t
            lots[c] = [lot for lot in lots[c] if lot[1] > 0]
            e("redeem_points", "debit", wallet="points", amount=want_points, balance=points(c))
            e("redeem_points", "emit", name="reward", data={"points": want_points})
    elif r["type"] == "login":
        e("statement", "notify", template="statement",
          data={"points": points(c), "bonus": fmt_money(bonus[c]), "bonus_on_hold": fmt_money(sum((a for _, a in held[c]), Decimal(0)))})

chk.same_entries("the whole ledger", want, ex.ledger)
# The planted cases really happen.
chk.expect(any(x["action"] == "expire" and x["client"] == "ben" and x["balance"] == 0 for x in ex.ledger),
           "ben's points did not all expire")
chk.expect(any(x["action"] == "expire" and x["trigger"] == "day:2026-01-31" and x["client"] == "dara" for x in ex.ledger),
           "the lot of 31 January did not expire on 31 January a year later")
chk.expect(any(x["action"] == "notify" and x["data"]["bonus_on_hold"] != "0.00" for x in ex.ledger),
           "no login saw a bonus on hold")
chk.done()
