#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, Tiers, anniversary, entry, money, day_start  # noqa: E402

TIERS = ["Insider", "Circle", "InnerCircle"]
HOLD = dt.timedelta(days=90)
PREVIEW = dt.date(2026, 5, 28)
ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[31])
attrs = defaultdict(lambda: {"name": "client", "birthdate": "1970-01-01", "boutique": "Paris"})
tiers = defaultdict(lambda: Tiers([None, HOLD, HOLD]))
spend, big = defaultdict(Window), defaultdict(Window)
fired = defaultdict(list)
want = []


def reevaluate(c, now, e):
    s = spend[c].sum(now.date(), 180)
    t = tiers[c]
    prev = t.evaluate(now, [s >= 5000, s >= 20000])
    if prev is None:
        return
    e(None, "tier", **{"from": TIERS[prev], "to": TIERS[t.tier]})
    a = attrs[c]
    if t.tier == 2:
        e("assign_manager", "emit", name="assign_personal_manager", data={"name": a["name"], "boutique": a["boutique"]})
    if prev == 2:
        e("release_manager", "emit", name="release_personal_manager", data={"name": a["name"], "now_in": TIERS[t.tier]})
    if t.tier > prev:
        e("welcome_circle", "notify", template="welcome_to_circle", data={"name": a["name"], "circle": TIERS[t.tier]})
    if t.tier == 2 and not fired[(c, "gala")]:
        fired[(c, "gala")].append(now)
        e("gala_invitation", "emit", name="send_invitation", data={"event_code": "GALA-2026-06", "guests_allowed": 1})


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        for c in clients:
            e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
            t = tiers[c].tier
            if today == PREVIEW and t >= 1:
                e("early_access", "emit", name="early_access", data={"collection": "summer-2026", "hours_early": 48 if t == 2 else 24})
            if anniversary(attrs[c]["birthdate"], today) and t >= 1:
                e("birthday_gift", "emit", name="send_birthday_gift", data={"name": attrs[c]["name"], "circle": TIERS[t]})
            reevaluate(c, day_start(today), e)
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        attrs[c].update({k: r[k] for k in ("name", "birthdate", "boutique") if k in r})
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    t, today = tiers[c].tier, r["_time"].date()
    if r["type"] == "purchase":
        amount = money(r["amount"])
        spend[c].add(r["_time"], amount)
        if amount >= 1000:
            big[c].add(r["_time"])
        recent = [d for d in fired[(c, "atelier")] if today - d < dt.timedelta(days=180)]
        if not recent and big[c].count(today, 30) >= 3:
            fired[(c, "atelier")].append(today)
            e("atelier", "emit", name="invite_private_atelier", data={"name": attrs[c]["name"], "boutique": r.get("boutique", "Paris")})
    elif r["type"] == "rsvp":
        if t >= 1:
            e("rsvp_seat", "emit", name="request_seat",
              data={"event_code": r["event_code"], "guests": min(r.get("guests", 0), 1 if t == 2 else 0)})
        else:
            e("rsvp_seat", "notify", template="event_for_members", data={"event_code": r["event_code"]})
    elif r["type"] == "concierge_request":
        e("concierge", "emit", name="concierge_ticket",
          data={"kind": r["kind"], "priority": ["low", "normal", "high"][t]})
    reevaluate(c, r["_time"], e)

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect(any(x["rule"] == "release_manager" for x in ex.ledger), "no personal manager is released")
chk.done()
