#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python,
sends and reversals included (spec §5 step 5: sent ids TRIGGER/RULE/N processed after their
record in the order sent; §4: a reversed event's sent events reversed after it, in the order
sent, each with its counter-entries, its `on EVENT reversed` rules and its own sends)."""
import datetime as dt
import os
import sys
from collections import defaultdict, deque
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Checker, Example, cents, entry, fmt_money, load_jsonl, money, parse_time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MINIMUM, REFERRER, FRIEND, PER_LOT = Decimal(100), Decimal(50), Decimal(25), Decimal(5)
REACH = dt.timedelta(hours=720)

referred_by = {}
bonus = defaultdict(Decimal)
paid_per_friend = defaultdict(set)  # (referrer, friend) -> ids of friend_qualified whose firing counts
welcomed = defaultdict(set)         # friend -> ids of welcome_reward whose firing counts
events = {}                         # id -> {client, time, type, fields, effects: [(seq, rule, action, amount)], sent}
reversed_ids = set()
want, rejected = [], []


def write(trigger, client, time, rule, action, **kw):
    want.append(entry(trigger, client, time, rule, action, **kw))
    return len(want)  # the entry's seq


def credit(ev, rule, amount):
    c = ev["client"]
    bonus[c] += amount
    seq = write(ev["id"], c, ev["time"], rule, "credit", wallet="bonus", amount=fmt_money(amount), balance=fmt_money(bonus[c]))
    ev["effects"].append((seq, rule, "credit", amount))


def send(ev, rule, kind, to, queue, **fields):
    sid = f"{ev['id']}/{rule}/1"  # each rule sends once per firing here
    write(ev["id"], ev["client"], ev["time"], rule, "send", event=kind, to=to, id=sid)
    ev["sent"].append(sid)
    queue.append({"id": sid, "client": to, "time": ev["time"], "type": kind, "fields": fields, "effects": [], "sent": []})


def run(ev, queue):
    """One event's rules (spec §5 step 3), the sends queued for after its record."""
    events[ev["id"]] = ev
    c, f = ev["client"], ev["fields"]
    if ev["type"] == "deposit":
        if c in referred_by and money(f["amount"]) >= MINIMUM:
            send(ev, "friend_deposits", "friend_qualified", referred_by[c], queue, friend=c, deposit=ev["id"])
    elif ev["type"] == "friend_qualified":
        if not paid_per_friend[(c, f["friend"])]:
            credit(ev, "pay_referrer", REFERRER)
            write(ev["id"], c, ev["time"], "pay_referrer", "notify", template="referral_paid",
                  data={"friend": f["friend"], "amount": fmt_money(REFERRER)})
            send(ev, "pay_referrer", "welcome_reward", f["friend"], queue, referrer=c)
            paid_per_friend[(c, f["friend"])].add(ev["id"])
    elif ev["type"] == "welcome_reward":
        if not welcomed[c]:
            credit(ev, "pay_friend", FRIEND)
            write(ev["id"], c, ev["time"], "pay_friend", "notify", template="welcome_reward",
                  data={"referrer": f["referrer"], "amount": fmt_money(FRIEND)})
            welcomed[c].add(ev["id"])
    elif ev["type"] == "trade":
        took = min(cents(Decimal(f["lots"]) * PER_LOT), bonus[c])
        if took > 0:
            bonus[c] -= took
            seq = write(ev["id"], c, ev["time"], "trade_uses_bonus", "debit", wallet="bonus", amount=fmt_money(took),
                        balance=fmt_money(bonus[c]))
            ev["effects"].append((seq, "trade_uses_bonus", "debit", took))


def reverse(ev, rid, time):
    """Spec §4: counter-entries, `on EVENT reversed` rules, then the events it sent, in turn."""
    reversed_ids.add(ev["id"])
    c = ev["client"]
    for seq, rule, action, amount in ev["effects"]:
        if action == "credit":
            took = min(amount, bonus[c])
            bonus[c] -= took
            kw = {"short": fmt_money(amount - took)} if took < amount else {}
            write(rid, c, time, rule, "debit", wallet="bonus", amount=fmt_money(took), balance=fmt_money(bonus[c]),
                  reverses=seq, **kw)
        else:
            bonus[c] += amount
            write(rid, c, time, rule, "credit", wallet="bonus", amount=fmt_money(amount), balance=fmt_money(bonus[c]),
                  reverses=seq)
    if ev["type"] == "friend_qualified":
        paid_per_friend[(c, ev["fields"]["friend"])].discard(ev["id"])
        write(rid, c, time, "referral_taken_back", "notify", template="referral_reversed",
              data={"friend": ev["fields"]["friend"], "bonus_left": fmt_money(bonus[c])})
    elif ev["type"] == "welcome_reward":
        welcomed[c].discard(ev["id"])
    for sid in ev["sent"]:
        reverse(events[sid], rid, time)


for n, r in enumerate(load_jsonl(os.path.join(HERE, "events.jsonl")), 1):
    c = r["client"]
    if r["type"] == "profile":
        if "referred_by" in r:
            referred_by[c] = r["referred_by"]
        continue
    if r["type"] == "reversal":
        ev = events.get(r["of"])
        if ("/" in r["of"] or ev is None or ev["client"] != c or r["of"] in reversed_ids
                or parse_time(r["time"]) - parse_time(ev["time"]) > REACH):
            rejected.append(n)
            continue
        reverse(ev, r["id"], r["time"])
        continue
    queue = deque()
    run({"id": r["id"], "client": c, "time": r["time"], "type": r["type"], "fields": r, "effects": [], "sent": []}, queue)
    while queue:  # sent events after their record, in the order sent; theirs follow in turn
        run(queue.popleft(), queue)

ex = Example(HERE)
chk = Checker(ex, rejected=rejected)
chk.same_entries("the whole ledger", want, ex.ledger)
# The planted cases really happen.
taken = [x for x in ex.ledger if "reverses" in x]
chk.expect({x["rule"] for x in taken} == {"pay_referrer", "pay_friend"},
           f"the chargeback did not take back both rewards: {taken}")
chk.expect(all("short" in x for x in taken), "the rewards taken back were not partly traded away")
chk.expect(any(x["action"] == "send" and not any(y["trigger"] == x["id"] and y["action"] == "credit" for y in ex.ledger)
               for x in ex.ledger), "no friend qualified twice (once per friend is never tested)")
chk.expect(any(x["client"] == "cai" for x in ex.ledger), "no referrer first known through a send")
chk.done()
