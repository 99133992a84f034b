#!/usr/bin/env python3
"""Writes a deterministic JSON Lines stream of forex client records for bench/forex.perk.

usage: gen_events.py [--records N] [--clients C] [--days D] [--seed S] [--reversed PCT] [--out FILE]

Records are in non-decreasing time order over D days from 2026-01-01. Each
client first shows up with a `profile` record followed at once by its first
deposit (flagged `"first": true`, exactly once per client); after that it
trades (most records: symbol, lots, volume), deposits again now and then and
logs in. Clients are introduced over the first 70% of the stream, and a few of
them trade far more than the rest. The same arguments always give the same
bytes.

With --reversed PCT, that percentage of the deposits is taken back by a `reversal` record
(spec §4) between one hour and 20 days later, written in time order among the others; they
come on top of the N records, which stay exactly those of the stream without the option
(their draws use a random generator of their own).
"""
import argparse
import bisect
import datetime
import heapq
import random
import sys

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

# symbol, contract size, price in USD of one unit of the base (1 for USD-based pairs), weight
SYMBOLS = [
    ("EURUSD", 100_000, 1.0850, 30),
    ("GBPUSD", 100_000, 1.2710, 14),
    ("USDJPY", 100_000, 1.0, 12),
    ("USDCHF", 100_000, 1.0, 5),
    ("AUDUSD", 100_000, 0.6550, 6),
    ("AUDCAD", 100_000, 0.6550, 3),
    ("XAUUSD", 100, 2650.0, 18),
    ("XAGUSD", 5_000, 31.0, 4),
    ("BTCUSD", 1, 95_000.0, 5),
    ("US30", 1, 43_000.0, 3),
]
LOTS = [("0.01", 10), ("0.02", 6), ("0.05", 10), ("0.1", 18), ("0.2", 12), ("0.5", 12),
        ("1", 14), ("2", 8), ("5", 5), ("10", 3), ("20", 1), ("50", 1)]
FIRST_DEPOSITS = [("50.00", 8), ("100.00", 20), ("200.00", 15), ("250.00", 15), ("500.00", 18),
                  ("1000.00", 12), ("2500.00", 6), ("5000.00", 4), ("25000.00", 2)]
DEPOSITS = [100, 200, 250, 300, 500, 750, 1000, 1500, 2000, 5000, 10_000, 50_000]
DEPOSIT_WEIGHTS = [10, 14, 12, 8, 18, 5, 14, 4, 7, 5, 2, 1]
METHODS = [("card", 60), ("wire", 20), ("ewallet", 14), ("crypto", 6)]
DEVICES = [("web", 45), ("ios", 25), ("android", 28), ("mt5", 2)]
COUNTRIES = [("CY", 10), ("DE", 12), ("GB", 10), ("AE", 8), ("ZA", 6), ("MY", 9), ("TH", 7),
             ("BR", 8), ("NG", 7), ("IT", 6), ("ES", 6), ("US", 3)]


def weighted(table):
    """The values of a (value, weight) table and their cumulative weights."""
    values, cum, total = [], [], 0
    for v, w in table:
        total += w
        values.append(v)
        cum.append(total)
    return values, cum


def picker(rng, table):
    values, cum = weighted(table)
    total = cum[-1]

    def pick():
        return values[bisect.bisect_right(cum, rng.random() * total)]
    return pick


def fmt_time(us):
    t = START + datetime.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reversed", type=float, default=0.0, help="percentage of deposits reversed later")
    ap.add_argument("--out", default="-", help="output file, - for stdout (the default)")
    a = ap.parse_args()
    if a.records < 1 or a.clients < 1 or a.days < 1:
        ap.error("--records, --clients and --days must be positive")
    # Each new client takes two records (profile and first deposit).
    clients = min(a.clients, a.records // 2) or 1

    rng = random.Random(a.seed)
    pick_symbol = picker(rng, [((s, c, p), w) for s, c, p, w in SYMBOLS])
    pick_lots = picker(rng, LOTS)
    pick_first = picker(rng, FIRST_DEPOSITS)
    pick_method = picker(rng, METHODS)
    pick_device = picker(rng, DEVICES)
    pick_country = picker(rng, COUNTRIES)
    dep_values, dep_cum = weighted(list(zip(DEPOSITS, DEPOSIT_WEIGHTS)))

    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    write_line = out.write
    # Reversals due, as (time, line), written once the stream's time reaches them.
    reversals = []
    rev_rng = random.Random(a.seed * 7919 + 17)

    def write(line, us=None):
        while reversals and us is not None and reversals[0][0] <= us:
            write_line(heapq.heappop(reversals)[1])
        write_line(line)

    def maybe_reverse(deposit_id, client, us):
        if a.reversed <= 0 or rev_rng.random() * 100 >= a.reversed:
            return
        later = us + rev_rng.randint(3_600, 20 * 86_400) * 1_000_000
        heapq.heappush(reversals, (later, f'{{"type":"reversal","id":"r{deposit_id}","client":"{client}",'
                                          f'"time":"{fmt_time(later)}","of":"{deposit_id}"}}\n'))
    span_us = a.days * 86_400 * 1_000_000
    n = a.records
    introduce_until = max(1, int(n * 0.7))
    introduced = 0
    # A client's activity weight: a few heavy traders, many occasional ones.
    heavy = max(1, clients // 50)
    next_id = 0
    emitted = 0

    while emitted < n:
        # Times rise with the record index, with jitter that never goes backwards.
        us = int((emitted + rng.random()) * span_us / n)
        t = fmt_time(us)
        # Introduce clients at an even pace over the first 70% of the stream.
        due = clients if emitted >= introduce_until else (emitted * clients) // introduce_until + 1
        if introduced < min(due, clients) and emitted + 2 <= n:
            introduced += 1
            c = f"c{introduced:06d}"
            birth = datetime.date(1955, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 50))
            write(f'{{"type":"profile","client":"{c}","time":"{t}","country":"{pick_country()}",'
                  f'"birthdate":"{birth.isoformat()}"}}\n', us)
            next_id += 1
            write(f'{{"type":"deposit","id":"d{next_id}","client":"{c}","time":"{t}",'
                  f'"amount":"{pick_first()}","method":"{pick_method()}","first":true}}\n', us)
            maybe_reverse(f"d{next_id}", c, us)
            emitted += 2
            continue
        if introduced == 0:
            introduced = 1
        # One client in five of the records comes from the heavy traders.
        if rng.random() < 0.2:
            k = rng.randrange(min(heavy, introduced))
        else:
            k = int(introduced * (rng.random() ** 0.8))
        c = f"c{min(k, introduced - 1) + 1:06d}"
        next_id += 1
        r = rng.random()
        if r < 0.85:
            symbol, contract, price = pick_symbol()
            lots = pick_lots()
            # Prices move within 2% of their reference; volume is the notional in USD, in cents.
            quote = price * (1 + (rng.random() - 0.5) * 0.04)
            cents = round(float(lots) * contract * quote * 100)
            write(f'{{"type":"trade","id":"t{next_id}","client":"{c}","time":"{t}",'
                  f'"symbol":"{symbol}","lots":"{lots}","volume":"{cents // 100}.{cents % 100:02d}"}}\n', us)
        elif r < 0.93:
            amount = dep_values[bisect.bisect_right(dep_cum, rng.random() * dep_cum[-1])]
            cents = rng.choice((0, 0, 0, rng.randrange(100)))
            first = ',"first":false' if rng.random() < 0.5 else ""
            write(f'{{"type":"deposit","id":"d{next_id}","client":"{c}","time":"{t}",'
                  f'"amount":"{amount}.{cents:02d}","method":"{pick_method()}"{first}}}\n', us)
            maybe_reverse(f"d{next_id}", c, us)
        else:
            write(f'{{"type":"login","id":"l{next_id}","client":"{c}","time":"{t}",'
                  f'"device":"{pick_device()}"}}\n', us)
        emitted += 1
    # Reversals due after the last record are dropped: the stream ends there.

    if out is not sys.stdout:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
