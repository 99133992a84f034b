#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python,
with New York's calendar through zoneinfo."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal, ROUND_FLOOR
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, entry, money, cents, fmt_money, fmt_time, local_date, local_midnight  # noqa: E402

NY = ZoneInfo("America/New_York")
CRYPTO = {"BTCUSD", "ETHUSD", "SOLUSD"}
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[62])
cashback = defaultdict(Decimal)
points = defaultdict(int)
greeted = set()                      # (client, local date) of sunday_evening firings
paid = []                            # (local date, amount) of weekend_cashback credits
weekend_crypto = defaultdict(list)   # client -> (local date, lots) of weekend crypto trades
want = []


def dec(x):
    return format(Decimal(x).normalize(), "f")


for step in ex.steps(zone=NY):
    if step[0] == "tick":
        _, today, clients = step
        if today.isoweekday() != 1:
            continue
        at = fmt_time(local_midnight(today, NY))
        for c in clients:
            last = [lots for d, lots in weekend_crypto[c] if today - dt.timedelta(days=7) <= d < today]
            if last:
                want.append(entry(f"day:{today}", c, at, "weekend_recap", "notify", template="weekend_recap",
                                  data={"week_from": str(today - dt.timedelta(days=7)), "trades": len(last),
                                        "lots": dec(sum(last, Decimal(0)))}))
        continue
    r = step[1]
    if r["type"] != "trade":
        continue
    c, t = r["client"], r["_time"]
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, fmt_time(t), rule, action, **kw))
    local = t.astimezone(NY)
    today, dow, lots = local.date(), local.isoweekday(), Decimal(r["lots"])
    weekend = dow >= 6
    if weekend and r["symbol"] in CRYPTO:
        weekend_crypto[c].append((today, lots))
        amount = cents(money(r["commission"]) * Decimal("0.2"))
        used = sum((x for d, x in paid if today - dt.timedelta(days=6) <= d <= today), Decimal(0))
        if amount > Decimal(250) - used:
            e("weekend_cashback", "skip", reason="budget", wallet="cashback", amount=fmt_money(amount))
        elif amount > 0:
            paid.append((today, amount))
            cashback[c] += amount
            e("weekend_cashback", "credit", wallet="cashback", amount=fmt_money(amount), balance=fmt_money(cashback[c]))
    n = int((lots * (20 if weekend else 10)).to_integral_value(rounding=ROUND_FLOOR))
    if n > 0:
        points[c] += n
        e("lot_points", "credit", wallet="points", amount=n, balance=points[c])
    if dow == 7 and local.hour >= 18 and (c, today) not in greeted:
        greeted.add((c, today))
        e("sunday_evening", "notify", template="sunday_evening", data={"symbol": r["symbol"], "local_hour": local.hour})

chk.same_entries("the whole ledger", want, ex.ledger)
kinds = {(x["rule"], x["action"]) for x in want}
chk.expect(("weekend_cashback", "skip") in kinds, "the budget runs out at least once")
friday = [x for x in ex.records if x["type"] == "trade" and x["_time"].astimezone(NY).isoweekday() == 5
          and x["_time"].isoweekday() == 6 and x["symbol"] in CRYPTO]
chk.expect(friday and not any(e["trigger"] == friday[0]["id"] and e["rule"] == "weekend_cashback" for e in ex.ledger),
           "a Friday-evening crypto trade (Saturday in UTC) earns no weekend cashback")
chk.done()
