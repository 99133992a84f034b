#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry, money, cents, fmt_money, floor_int  # noqa: E402

EXOTIC = {"USDTRY", "USDZAR", "USDMXN", "EURTRY", "USDPLN", "USDHUF"}
MAJORS = ("EURUSD", "GBPUSD", "USDJPY", "USDCHF")
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[201])
points, cash = defaultdict(int), defaultdict(Decimal)
names = defaultdict(lambda: "trader")
majors, gold, silver = defaultdict(Window), defaultdict(Window), defaultdict(Window)
done = defaultdict(set)
budget = {"gold_rush": Decimal(0), "first_exotic": Decimal(0)}
badges = defaultdict(set)
want = []

for _, r in (s for s in ex.steps() if s[0] == "record"):
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today, lots, sym = r["_time"].date(), money(r["lots"]), r["symbol"].upper()
    if sym.startswith(MAJORS):
        majors[c].add(today, lots)
    if sym.startswith("XAU"):
        gold[c].add(today)
    if sym.startswith("XAG"):
        silver[c].add(today)

    def pay(rule, amount, cap):
        if amount <= 0:
            return True
        if budget[rule] + amount > cap:
            e(rule, "skip", reason="budget", wallet="cash_bonus", amount=fmt_money(amount))
            return False
        budget[rule] += amount
        cash[c] += amount
        e(rule, "credit", wallet="cash_bonus", amount=fmt_money(amount), balance=fmt_money(cash[c]))
        return True

    n = floor_int(lots * (20 if "JPY" in sym else 10))
    if n > 0:
        points[c] += n
        e("lot_points", "credit", wallet="points", amount=n, balance=points[c])
    if sym.startswith("XAUUSD") and dt.date(2026, 4, 1) <= today <= dt.date(2026, 4, 30) and lots >= Decimal("0.1"):
        pay("gold_rush", cents(lots * 5), 300)
    if "first_exotic" not in done[c] and sym in EXOTIC and lots >= Decimal("0.1"):
        if pay("first_exotic", Decimal(25), 1000):
            e("first_exotic", "notify", template="exotic_bonus", data={"name": names[c], "symbol": sym})
            done[c].add("first_exotic")
    if majors[c].sum(today, 7) >= 10 and "majors_master" not in badges[c]:
        badges[c].add("majors_master")
        e("majors_master", "grant", badge="majors_master")
    if "metals_webinar" not in done[c] and gold[c].count(today, 30) > 0 and silver[c].count(today, 30) > 0:
        e("metals_webinar", "emit", name="invite_webinar", data={"name": names[c], "webinar": "metals-outlook"})
        done[c].add("metals_webinar")

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(sum(1 for x in ex.ledger if x["action"] == "skip") >= 3, "the gold-rush budget no longer runs out")
small_exotic = [r for r in ex.records if r["type"] == "trade" and r["symbol"].upper() in EXOTIC and money(r["lots"]) < Decimal("0.1")]
chk.expect(small_exotic, "no exotic trade under the minimum size")
chk.done()
