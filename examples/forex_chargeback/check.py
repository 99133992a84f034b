#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python,
reversals included (spec §4: counter-entries with `reverses` and `short`, the budget given
back what a counter-debit took, the limit reopened, the reversed event out of `count`), and
which reversal records must be rejected (unknown, older than 720 hours, already reversed,
another client's event)."""
import datetime as dt
import os
import sys
from collections import defaultdict
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Checker, Example, cents, entry, fmt_money, load_jsonl, money, parse_time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUDGET, RATE, CAP, PER_LOT = Decimal(600), Decimal("0.20"), Decimal(200), Decimal(5)
REACH = dt.timedelta(hours=720)

bonus = defaultdict(Decimal)
budget_used = Decimal(0)
bonus_firings = defaultdict(set)   # client -> ids of deposits whose bonus firing still counts
deposits = defaultdict(set)        # client -> ids of deposits still counted by count(deposit)
events = {}                        # id -> (client, time, type, fields, [(seq, kind, amount)])
reversed_ids = set()
want, rejected = [], []

# The raw input: the model decides itself which reversals are rejected.
for n, r in enumerate(load_jsonl(os.path.join(HERE, "events.jsonl")), 1):
    c, now = r["client"], parse_time(r["time"])

    def e(rule, action, client=c, **kw):
        want.append(entry(r["id"], client, r["time"], rule, action, **kw))
        return len(want)  # the entry's seq

    if r["type"] == "reversal":
        ev = events.get(r["of"])
        if ev is None or now - ev[1] > REACH or ev[0] != c or r["of"] in reversed_ids:
            rejected.append(n)
            continue
        reversed_ids.add(r["of"])
        client, _, kind, fields, effects = ev
        # Counter-entries in the order of the entries they answer.
        for seq, action, amount in effects:
            if action == "credit":
                took = min(amount, bonus[c])
                bonus[c] -= took
                budget_used -= took  # the budget gets back what was taken, not the whole credit
                kw = {"short": fmt_money(amount - took)} if took < amount else {}
                e("deposit_bonus", "debit", wallet="bonus", amount=fmt_money(took), balance=fmt_money(bonus[c]),
                  reverses=seq, **kw)
            else:
                bonus[c] += amount
                e("trade_uses_bonus", "credit", wallet="bonus", amount=fmt_money(amount), balance=fmt_money(bonus[c]),
                  reverses=seq)
        if kind == "deposit":
            bonus_firings[c].discard(r["of"])  # the limit reopens
            deposits[c].discard(r["of"])
            e("chargeback_to_risk", "notify", template="risk_chargeback",
              data={"deposit": r["of"], "amount": fmt_money(money(fields["amount"])), "at": r["time"],
                    "bonus_left": fmt_money(bonus[c]), "deposits_left": len(deposits[c])})
        continue

    effects = []
    events[r["id"]] = (c, now, r["type"], r, effects)
    if r["type"] == "deposit":
        deposits[c].add(r["id"])
        amount = money(r["amount"])
        if not bonus_firings[c] and amount >= 100:
            b = cents(min(amount * RATE, CAP))
            if budget_used + b > BUDGET:
                e("deposit_bonus", "skip", reason="budget", wallet="bonus", amount=fmt_money(b))
            else:
                budget_used += b
                bonus[c] += b
                effects.append((e("deposit_bonus", "credit", wallet="bonus", amount=fmt_money(b),
                                  balance=fmt_money(bonus[c])), "credit", b))
                e("deposit_bonus", "notify", template="bonus_granted", data={"deposit": fmt_money(amount)})
                bonus_firings[c].add(r["id"])
    elif r["type"] == "trade":
        took = min(cents(Decimal(r["lots"]) * PER_LOT), bonus[c])
        if took > 0:
            bonus[c] -= took
            effects.append((e("trade_uses_bonus", "debit", wallet="bonus", amount=fmt_money(took),
                              balance=fmt_money(bonus[c])), "debit", took))

ex = Example(HERE)
chk = Checker(ex, rejected=rejected)
chk.same_entries("the whole ledger", want, ex.ledger)
# The planted cases really happen.
shorts = [x for x in ex.ledger if x.get("short")]
chk.expect(any(x["amount"] != "0.00" for x in shorts), "no chargeback came up short after part of the bonus was spent")
chk.expect(any(x["amount"] == "0.00" for x in shorts), "no chargeback found the whole bonus spent")
skips = [i for i, x in enumerate(ex.ledger) if x["action"] == "skip"]
paid_after = [i for i, x in enumerate(ex.ledger) if x["action"] == "credit" and x["rule"] == "deposit_bonus"
              and x["client"] == ex.ledger[skips[0]]["client"] and i > skips[0]] if skips else []
chk.expect(bool(paid_after), "no client skipped by the budget was paid after a chargeback gave budget back")
chk.expect(sum(1 for x in ex.ledger if x["rule"] == "deposit_bonus" and x["action"] == "credit"
               and x["client"] == "ana" and "reverses" not in x) == 2, "ana's limit did not reopen")
chk.expect(any(x["rule"] == "trade_uses_bonus" and "reverses" in x for x in ex.ledger), "no busted trade")
chk.expect(len(rejected) == 4, f"4 reversals are planted as bad, the model rejects {len(rejected)}")
chk.done()
