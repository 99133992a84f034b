#!/usr/bin/env python3
"""Independent check of expected.jsonl: the whole program re-computed from the spec in Python."""
import datetime as dt
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "examples"))
from perkmodel import Example, Checker, Window, entry  # noqa: E402

ex = Example(os.path.dirname(os.path.abspath(__file__)))
chk = Checker(ex, rejected=[101, 131])
xp, level, streak, best = defaultdict(int), defaultdict(lambda: 1), defaultdict(int), defaultdict(int)
last = defaultdict(lambda: dt.date(1970, 1, 1))
badges = defaultdict(set)
names = defaultdict(lambda: "athlete")
workouts, early = defaultdict(Window), defaultdict(int)
fired = defaultdict(list)  # (client, rule) -> days of completed firings
want = []


def limited(c, rule, today, days=7):
    return any(today - d < dt.timedelta(days=days) for d in fired[(c, rule)])


for step in ex.steps():
    if step[0] == "tick":
        _, today, clients = step
        for c in clients:
            if streak[c] >= 3 and (today - last[c]).days == 2:
                e = lambda rule, action, **kw: want.append(entry(f"day:{today}", c, f"{today}T00:00:00Z", rule, action, **kw))
                e("streak_lost", "notify", template="streak_lost", data={"name": names[c], "days": streak[c]})
                streak[c] = 0
                e("streak_lost", "set", var="streak", value=0)
        continue
    r = step[1]
    if r["type"] == "tick":
        continue
    c = r["client"]
    if r["type"] == "profile":
        names[c] = r.get("name", names[c])
        continue
    e = lambda rule, action, **kw: want.append(entry(r["id"], c, r["time"], rule, action, **kw))
    today, minutes = r["_time"].date(), r["minutes"]
    workouts[c].add(r["_time"], minutes)
    early[c] += r.get("local_hour", 12) < 7

    def credit(rule, n):
        if n > 0:
            xp[c] += n
            e(rule, "credit", wallet="xp", amount=n, balance=xp[c])

    def grant(rule, badge):
        if badge not in badges[c]:
            badges[c].add(badge)
            e(rule, "grant", badge=badge)

    credit("earn_xp", minutes)
    gap = (today - last[c]).days
    if gap > 0:
        streak[c] = streak[c] + 1 if gap == 1 else 1
        e("streak_count", "set", var="streak", value=streak[c])
        last[c] = today
        e("streak_count", "set", var="last_workout_day", value=str(today))
        if streak[c] > best[c]:
            best[c] = streak[c]
            e("streak_count", "set", var="best_streak", value=best[c])
    if streak[c] == 7:
        grant("streak_7", "streak_7")
        credit("streak_7", 200)
        e("streak_7", "notify", template="streak", data={"days": 7})
    if streak[c] == 30:
        grant("streak_30", "streak_30")
        credit("streak_30", 1000)
        e("streak_30", "notify", template="streak", data={"days": 30})
    grant("badges", "first_workout")
    n = workouts[c].count(today)
    if n >= 10:
        grant("badges", "ten_workouts")
    if n >= 50:
        grant("badges", "fifty_workouts")
    if early[c] >= 5:
        grant("badges", "early_bird")
    for rule, ok, bonus in [("five_in_seven", workouts[c].count(today, 7) >= 5, 150),
                            ("minutes_150", workouts[c].sum(today, 7) >= 150, 100)]:
        if not limited(c, rule, today) and ok:
            credit(rule, bonus)
            e(rule, "notify", template="challenge_done", data={"challenge": rule, "xp": bonus})
            fired[(c, rule)].append(today)
    if xp[c] >= level[c] * 1000:
        level[c] = xp[c] // 1000 + 1
        e("level_up", "set", var="level", value=level[c])
        e("level_up", "notify", template="level_up", data={"name": names[c], "level": level[c]})

chk.same_entries("the whole ledger", want, ex.ledger)
chk.expect("streak_30" in badges["u01"] and "early_bird" in badges["u01"], "Ava's 30-day streak or early-bird badge moved")
chk.expect(any(x["rule"] == "streak_lost" and x["client"] == "u04" for x in ex.ledger), "Dev's broken streak gets no nudge")
chk.done()
