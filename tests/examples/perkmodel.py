"""Helpers for the independent checks of examples/*/check.py.

Each example's check.py re-computes the key effects of its program in plain Python, straight
from the spec (LANGUAGE.md), and compares them with the example's expected.jsonl. It shares
no code with the engine, so an engine bug that changed expected.jsonl under `--update` shows
up here. Only what the spec says is modelled: money is exact (Decimal, half away from zero to
cents), windows are calendar-day buckets ending today, day ticks run at 00:00:00Z for every
known client in order of first appearance, and duplicate ids are skipped.
"""
import datetime as dt
import json
import os
import sys
from decimal import Decimal, ROUND_HALF_UP, ROUND_FLOOR

CENT = Decimal("0.01")


def money(x):
    """A money value from JSON text or a number, exact."""
    return Decimal(str(x))


def cents(x):
    """Rounds to whole cents, half away from zero (ROUND_HALF_UP is away from zero in Python)."""
    return Decimal(x).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt_money(x):
    return str(cents(x))


def floor_int(x):
    return int(Decimal(x).to_integral_value(rounding=ROUND_FLOOR))


def round_dec(x):
    """A decimal rounded to 6 places, half away from zero (spec §2)."""
    return Decimal(x).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def parse_time(s):
    s = s.replace("Z", "+00:00")
    return dt.datetime.fromisoformat(s).astimezone(dt.timezone.utc)


def fmt_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(d):
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc)


def local_date(t, zone=None):
    """The calendar day of instant t in the program's time zone (UTC when zone is None)."""
    return (t.astimezone(zone) if zone is not None else t).date()


def local_midnight(d, zone):
    """The first instant of local day d (spec §5): local midnight, or when midnight does not
    exist (a daylight-saving gap at 00:00), the first instant after it: the first local minute
    that exists, which is where the gap ends (gaps are whole minutes)."""
    for minute in range(24 * 60):
        local = dt.datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=zone)
        t = local.astimezone(dt.timezone.utc)
        if t.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            return t
    raise ValueError(f"no local time on {d}")


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Example:
    """An example folder: its records (rejected ones dropped, as listed in case.json) and ledger."""

    def __init__(self, folder):
        self.folder = folder
        meta = os.path.join(folder, "case.json")
        self.spec = json.load(open(meta, encoding="utf-8")) if os.path.exists(meta) else {}
        rejected = set(self.spec.get("rejected_lines", []))
        self.records = []
        seen = set()
        self.duplicates = 0
        with open(os.path.join(folder, "events.jsonl"), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip() or n in rejected:
                    continue
                r = json.loads(line)
                if "id" in r:
                    if r["id"] in seen:
                        self.duplicates += 1
                        continue
                    seen.add(r["id"])
                r["_line"] = n
                r["_time"] = parse_time(r["time"])
                self.records.append(r)
        self.ledger = [{k: v for k, v in e.items() if k != "seq"}
                       for e in load_jsonl(os.path.join(folder, "expected.jsonl"))]

    def steps(self, until=None, zone=None):
        """The engine's order of work (spec §5): ("tick", day, clients) before the first record
        of each new day, for every day passed, then ("record", r). Clients are listed in order of
        first appearance. `until` (a time string) adds the ticks of `perk run --until`. `zone`
        (a zoneinfo.ZoneInfo) is the program's time zone: days are its local days (UTC when None;
        see local_date and local_midnight)."""
        clients = []
        clock = None
        def ticks(to_date):
            d = local_date(clock, zone) + dt.timedelta(days=1)
            while d <= to_date:
                yield ("tick", d, list(clients))
                d += dt.timedelta(days=1)
        for r in self.records:
            if clock is not None:
                yield from ticks(local_date(r["_time"], zone))
            clock = r["_time"] if clock is None or r["_time"] > clock else clock
            if r["type"] != "tick" and r["client"] not in clients:
                clients.append(r["client"])
            yield ("record", r)
        if until is not None and clock is not None:
            yield from ticks(local_date(parse_time(until), zone))


class Window:
    """One client's history of one event kind, for `within N days` aggregates."""

    def __init__(self):
        self.items = []  # (date, value)

    def add(self, when, value=Decimal(0)):
        self.items.append((when.date() if isinstance(when, dt.datetime) else when, value))

    def _in(self, today, days):
        if days is None:
            return [v for _, v in self.items]
        first = today - dt.timedelta(days=days - 1)
        return [v for d, v in self.items if first <= d <= today]

    def count(self, today, days=None):
        return len(self._in(today, days))

    def sum(self, today, days=None):
        return sum(self._in(today, days), Decimal(0))


def anniversary(birth, today):
    """Spec §2: today's month and day equal the date's (29 February counts as 28 February in
    other years) and today's year is later."""
    b = dt.date.fromisoformat(birth) if isinstance(birth, str) else birth
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    month, day = (2, 28) if (b.month, b.day) == (2, 29) and not leap else (b.month, b.day)
    return (today.month, today.day) == (month, day) and today.year > b.year


def entry(trigger, client, time, rule, action, **kw):
    e = {"trigger": trigger, "client": client, "time": time, "rule": rule, "action": action}
    e.update(kw)
    return e


class Checker:
    """Collects mismatches between a model's entries and the ledger; exits 1 on any."""

    def __init__(self, example, rejected):
        """`rejected`: the input lines the example plants as bad. Example drops the lines that
        case.json lists as rejected; this keeps that list from following an engine change."""
        self.ex = example
        self.errors = []
        self.checked = 0
        self.expect(sorted(example.spec.get("rejected_lines", [])) == sorted(rejected),
                    f"case.json rejects lines {example.spec.get('rejected_lines', [])}, the example plants {rejected}")

    def same_entries(self, what, want, got):
        """Compares two entry lists in order and reports the first differences."""
        self.checked += len(want)
        if want == got:
            return
        for i in range(max(len(want), len(got))):
            w = want[i] if i < len(want) else None
            g = got[i] if i < len(got) else None
            if w != g:
                self.errors.append(f"{what}: entry {i + 1} of {len(got)} (model has {len(want)}) differs\n"
                                   f"  model:  {json.dumps(w, ensure_ascii=False)}\n"
                                   f"  ledger: {json.dumps(g, ensure_ascii=False)}")
                return

    def rules(self, *names, actions=None):
        """The ledger entries of the named rules (None for tier and segment entries)."""
        return [e for e in self.ex.ledger
                if e["rule"] in names and (actions is None or e["action"] in actions)]

    def expect(self, cond, message):
        self.checked += 1
        if not cond:
            self.errors.append(message)

    def done(self):
        name = os.path.basename(os.path.abspath(self.ex.folder))
        if self.errors:
            print(f"FAIL {name}: " + "\n".join(self.errors[:5]))
            sys.exit(1)
        print(f"ok   {name} ({self.checked} expectations, {len(self.ex.ledger)} ledger entries)")


class Tiers:
    """A client's tier with holds (spec §3 Tiers): `holds` has one entry per tier, the base
    tier first, each a timedelta or None. evaluate() takes `now` and one bool per tier above
    the base, and returns the previous tier's index on a change, else None."""

    def __init__(self, holds):
        self.holds = holds
        self.until = [None] * len(holds)
        self.tier = 0

    def evaluate(self, now, conditions):
        best = 0
        for k, holds in enumerate(conditions, 1):
            if holds and self.holds[k]:
                self.until[k] = now + self.holds[k]
            if holds or (self.holds[k] and self.until[k] is not None and now < self.until[k]):
                best = k
        if best == self.tier:
            return None
        previous, self.tier = self.tier, best
        return previous
