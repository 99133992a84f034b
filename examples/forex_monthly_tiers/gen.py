#!/usr/bin/env python3
"""Writes events.jsonl for forex_monthly_tiers: traders from March to November 2026 in
Frankfurt time, spanning both 2026 daylight-saving changes (29 March and 25 October).

Fixed seed, standard library only. Times are chosen on the local clock and written as instants,
some in UTC (`Z`) and some with the local offset, as a CRM would send them. Planted: trades at
00:30 on the 1st (the previous day in UTC, so the month is only right in local time); trades at
01:59 and 03:00 local on 29 March (the hour between does not exist) and at 02:30 twice on
25 October (once in summer time, once in winter time); heavy, middling and light traders whose
months go up and down; a lot size "1/2" (rejected), a trade sent twice (a duplicate) and one sent
late (out of order, rejected); a closing tick on 1 December.

usage: gen.py [--records N --clients N --out DIR]   (default: the example's own stream)
"""
import argparse
import datetime as dt
import json
import os
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.timezone.utc
START, END = dt.date(2026, 3, 1), dt.date(2026, 11, 30)
SYMBOLS = [("EURUSD", Decimal("1.0850")), ("GBPUSD", Decimal("1.2700")), ("USDJPY", Decimal("1")),
           ("XAUUSD", Decimal("2.1000")), ("EURGBP", Decimal("0.8550")), ("AUDUSD", Decimal("0.6600"))]


def instant(local):
    """A local wall-clock time in Berlin as a UTC instant (fold=0: the earlier of a repeated hour)."""
    return local.replace(tzinfo=BERLIN).astimezone(UTC)


def write_time(t, rng):
    """The instant as RFC 3339, in UTC or in Berlin's offset at that instant."""
    if rng.random() < 0.5:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.astimezone(BERLIN).isoformat()


def monthly_lots(kind, month, rng):
    """Lots a trader of this kind trades in a month (2026 month number)."""
    if kind == "heavy":
        return rng.choice([0, 12, 25, 30, 40]) if month % 3 == 0 else rng.uniform(22, 36)
    if kind == "middling":
        return rng.uniform(3, 14)
    return rng.uniform(0, 3)


def trades_for(client, kind, rng, scale):
    out = []
    first = START + dt.timedelta(days=rng.randrange(0, 60))
    d = first
    while d <= END:
        month_end = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        lots_left = monthly_lots(kind, d.month, rng) * scale
        days = [d + dt.timedelta(days=k) for k in range((month_end - d).days + 1)]
        while lots_left > 0.05:
            day = rng.choice(days)
            lots = min(lots_left, rng.choice([0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5]))
            lots_left -= lots
            # Most trades in Frankfurt hours; one in six in the Asian session before 06:00.
            hour = rng.randrange(0, 6) if rng.random() < 1 / 6 else rng.randrange(6, 24)
            local = dt.datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60))
            out.append((instant(local), client, Decimal(f"{lots:.2f}")))
        d = month_end + dt.timedelta(days=1)
    return out


def build(n_clients, target_records, seed):
    rng = random.Random(seed)
    kinds = ["heavy"] * 2 + ["middling"] * 3 + ["light"] * 5
    clients = [(f"c{k + 1:04d}", rng.choice(kinds)) for k in range(n_clients)]
    # Scale the monthly lots so that the stream has about the records asked for.
    trades = []
    for client, kind in clients:
        trades += trades_for(client, kind, rng, 1.0)
    scale = max(1.0, target_records / max(1, len(trades)))
    if scale > 1.0:
        rng = random.Random(seed)
        [rng.choice(kinds) for _ in range(n_clients)]
        trades = []
        for client, kind in clients:
            trades += trades_for(client, kind, rng, scale)
    # Planted local-time edges, for the first client of each kind.
    edge = [c for c, k in clients[:10]] or [clients[0][0]]
    for c in edge[:3]:
        for m in range(4, 12):
            trades.append((instant(dt.datetime(2026, m, 1, 0, 30)), c, Decimal("2.00")))
        trades.append((instant(dt.datetime(2026, 3, 29, 1, 59)), c, Decimal("1.00")))
        trades.append((instant(dt.datetime(2026, 3, 29, 3, 0)), c, Decimal("1.00")))
        summer = dt.datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)              # fold=0: summer time
        winter = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)      # the hour again
        trades.append((summer.astimezone(UTC), c, Decimal("1.00")))
        trades.append((winter.astimezone(UTC), c, Decimal("1.00")))
    trades.sort(key=lambda t: (t[0], t[1]))
    rows = []
    names = {}
    for c, _ in clients[: max(1, n_clients // 2)]:
        names[c] = rng.choice(["Ana", "Björn", "Chloé", "Dmitri", "Eşref", "Fatima", "Giulia", "Hannes"])
    introduced = set()
    for k, (t, c, lots) in enumerate(trades):
        if c in names and c not in introduced:
            rows.append({"type": "profile", "client": c, "time": write_time(t - dt.timedelta(minutes=5), rng),
                         "name": names[c], "_t": t - dt.timedelta(minutes=5)})
            introduced.add(c)
        symbol, price = rng.choice(SYMBOLS)
        volume = (lots * 100_000 * price).quantize(Decimal("0.01"))
        rows.append({"type": "trade", "id": f"ord-{k + 1:07d}", "client": c, "time": write_time(t, rng),
                     "symbol": symbol, "lots": str(lots), "volume": str(volume), "_t": t})
    rows.sort(key=lambda r: r["_t"])
    return rows


def plant_bad(rows):
    """A rejected lot size, a duplicate and a late record, in the example's stream."""
    trades = [i for i, r in enumerate(rows) if r["type"] == "trade"]
    bad = dict(rows[trades[40]])
    bad["id"], bad["lots"] = "ord-bad-1", "1/2"
    rows.insert(trades[40] + 1, bad)
    trades = [i for i, r in enumerate(rows) if r["type"] == "trade"]
    rows.insert(trades[80] + 1, dict(rows[trades[80]]))
    late = dict(rows[trades[120]])
    late["id"] = "ord-late-1"
    rows.insert(trades[200], late)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=0)
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    rows = build(a.clients, a.records, a.seed)
    if not a.records:
        plant_bad(rows)
    rows.append({"type": "tick", "time": "2026-12-01T00:00:00+01:00"})
    with open(os.path.join(a.out, "events.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if k != "_t"}, ensure_ascii=False) + "\n")
    print(f"gen.py: {len(rows)} records to {os.path.join(a.out, 'events.jsonl')}")


if __name__ == "__main__":
    main()
