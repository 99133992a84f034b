#!/usr/bin/env python3
"""Random well-typed Perk programs and random input streams for them, for differential testing.

usage: gen.py SEED [--out DIR]

Writes DIR/program.perk, DIR/events.jsonl and DIR/case.json (its `args` hold `--until` when the
run should advance the clock past the input), or prints the program and the stream to stdout.
The same seed always gives the same files (Python's `random.Random(seed)` only; no hashing of
sets, no clock).

The programs use every declaration, type, operator, built-in, aggregate, trigger, clause and
action of the spec, and are meant to pass `perk check`: the generator types every expression
the way compiler/check.cpp does, and mirrors stdlib's exact arithmetic for the sub-expressions
the checker folds, so no constant overflows or divides by zero at check time. It does put
runtime hazards where the checker cannot see them (huge constants next to event fields,
division by fields that are often zero) so the error paths are compared too. The streams mix
plain records with edge values (0, negatives, int64 limits, empty and non-ASCII strings, leap
days), same-time and out-of-order records, duplicate ids, malformed lines, profiles and ticks.
"""
import argparse
import datetime
import json
import os
import re
import sys

import random
from zoneinfo import ZoneInfo

I64_MIN = -(2 ** 63)
I64_MAX = 2 ** 63 - 1
DEC = 1_000_000      # decimal scale (micro-units)
CENTS = 100          # money scale
US_DAY = 86_400_000_000
US_HOUR = 3_600_000_000
US_MIN = 60_000_000
EPOCH = datetime.date(1970, 1, 1).toordinal()
MONTHS_TAG = 1 << 62  # stdlib/zone.h: a duration of N months is MONTHS_TAG + N
MIN_TIME = -719_528 * US_DAY
MAX_TIME = 2_932_897 * US_DAY - 1
EPOCH_DT = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# Program time zones: UTC, and zones whose clocks change at awkward moments.
ZONES = ["UTC", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "Asia/Tokyo",
         "America/New_York", "Asia/Kolkata"]

KEYWORDS = set("""program currency event client wallet var param tier segment rule on when then end
every day limit once per within budget hold credit debit set notify grant emit if else and or not in
mod true false now today tier_changed previous_tier count sum avg highest lowest where int decimal
money bool string time date minute minutes hour hours days week weeks timezone month months year years
previous partial send to is otherwise entering leaving reversed pending expires after worth revenue
duration""".split())

# Field names that are keywords, allowed by the grammar's fieldName and read back after `.`.
KEYWORD_FIELDS = ["date", "count", "sum", "hour", "now", "today", "where", "per", "once", "string",
                  "money", "minutes", "within", "hold", "lowest", "week"]

NUMERIC = ("int", "decimal", "money")
ORDERED = ("int", "decimal", "money", "time", "date", "tier")
ALL_TYPES = ("int", "decimal", "money", "bool", "string", "time", "date", "tier")
FIELD_TYPES = ("int", "decimal", "money", "bool", "string", "time", "date")

CONST_PLACES = ("param", "const")
STATE_PLACES = ("tier", "segment", "event", "tier_changed", "daily")


class Retry(Exception):
    """The choice made would not check (a folded constant fails): choose again."""


class Fail(Exception):
    """A mirrored stdlib operation fails (overflow, division by zero)."""


# ---------------------------------------------------------------- stdlib mirror (exact)

def narrow(v):
    if v < I64_MIN or v > I64_MAX:
        raise Fail()
    return v


def div_round(n, d):
    """n / d rounded half away from zero, as stdlib's DivRound."""
    if d == 0:
        raise Fail()
    q, r = divmod(abs(n), abs(d))
    if 2 * r >= abs(d):
        q += 1
    return q if (n < 0) == (d < 0) else -q


def div_floor(n, d):
    return n // d


def div_ceil(n, d):
    return -((-n) // d)


def c_mod(a, b):
    if b == 0:
        raise Fail()
    r = abs(a) % abs(b)
    return -r if a < 0 else r


# ---- the calendar in a zone (stdlib/zone.h), through Python's zoneinfo on the same tzdata

def _local(zone, us):
    try:
        dt = EPOCH_DT + datetime.timedelta(microseconds=us)
        return (dt.astimezone(zone) if zone is not None else dt).replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise Fail()


def tz_date(zone, us):
    return _local(zone, us).date().toordinal() - EPOCH


def cal_step(zone, us, dur, sign):
    """time ± a calendar duration, keeping the local clock time (a gap moves forward, a repeat
    takes the earlier instant: fold=0); minutes and hours are exact."""
    if dur < MONTHS_TAG and dur % US_DAY:
        v = us + sign * dur
    else:
        loc = _local(zone, us)
        nd = date_step(loc.date().toordinal() - EPOCH, dur, sign)
        nl = datetime.datetime.combine(datetime.date.fromordinal(nd + EPOCH), loc.time())
        try:
            out = nl.replace(tzinfo=zone, fold=0) if zone is not None else nl.replace(tzinfo=datetime.timezone.utc)
            v = (out - EPOCH_DT) // datetime.timedelta(microseconds=1)
        except (OverflowError, ValueError):
            raise Fail()
    if v < MIN_TIME or v > MAX_TIME:
        raise Fail()
    return v


def date_step(days, dur, sign):
    if dur >= MONTHS_TAG:
        try:
            d = datetime.date.fromordinal(days + EPOCH)
        except (OverflowError, ValueError):
            raise Fail()
        y, m = divmod(d.year * 12 + d.month - 1 + sign * (dur - MONTHS_TAG), 12)
        if y < 1 or y > 9999:  # Perk allows year 0; Python's dates do not: never a constant
            raise Fail()
        last = [31, 29 if (y % 4 == 0 and (y % 100 or y % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m]
        return datetime.date(y, m + 1, min(d.day, last)).toordinal() - EPOCH
    r = days + sign * (dur // US_DAY)
    if r < -719_528 or r > 2_932_896:
        raise Fail()
    return r


MIRROR = {
    "add": lambda a, b: narrow(a + b),
    "sub": lambda a, b: narrow(a - b),
    "mul_int": lambda a, b: narrow(a * b),
    "mod": lambda a, b: c_mod(a, b),
    "div_int": lambda a, b: narrow(div_round(a * DEC, b)),
    "mul_dec": lambda a, b: narrow(div_round(a * b, DEC)),
    "div_dec": lambda a, b: narrow(div_round(a * DEC, b)),
    "mul_money_int": lambda a, b: narrow(a * b),
    "mul_money_dec": lambda a, b: narrow(div_round(a * b, DEC)),
    "div_money_int": lambda a, b: narrow(div_round(a, b)),
    "div_money_dec": lambda a, b: narrow(div_round(a * DEC, b)),
    "div_money_money": lambda a, b: narrow(div_round(a * DEC, b)),
    "neg": lambda a: narrow(-a),
    "abs": lambda a: narrow(abs(a)),
    "widen": lambda a: narrow(a * DEC),
    "floor_dec": lambda a: narrow(div_floor(a, DEC)),
    "ceil_dec": lambda a: narrow(div_ceil(a, DEC)),
    "round_dec": lambda a: narrow(div_round(a, DEC)),
    "floor_money": lambda a: narrow(div_floor(a, CENTS) * CENTS),
    "ceil_money": lambda a: narrow(div_ceil(a, CENTS) * CENTS),
    "round_money": lambda a: narrow(div_round(a, CENTS) * CENTS),
}


# ---------------------------------------------------------------- expressions

class E:
    """A generated expression: its text, its type, whether the checker folds it to a constant
    (`const`), and its value when known (None when not known)."""
    __slots__ = ("text", "t", "const", "val", "atom")

    def __init__(self, text, t, const=False, val=None, atom=True):
        self.text = text
        self.t = t
        self.const = const
        self.val = val
        self.atom = atom

    def wrapped(self):
        return self.text if self.atom else f"({self.text})"


class Scope:
    def __init__(self, place, event=None):
        self.place = place
        self.event = event

    @property
    def constant(self):
        return self.place in CONST_PLACES

    @property
    def state(self):
        return self.place in STATE_PLACES


class Field:
    def __init__(self, name, t, default=None, default_val=None):
        self.name = name
        self.t = t
        self.default = default          # text of the default expression, or None
        self.default_val = default_val


class Event:
    def __init__(self, name):
        self.name = name
        self.fields = []


def fmt_int(v, rng):
    s = str(abs(v))
    if len(s) > 3 and rng.random() < 0.3:
        groups = []
        while len(s) > 3:
            groups.insert(0, s[-3:])
            s = s[:-3]
        groups.insert(0, s)
        s = "_".join(groups)
    return s


def scaled_text(v, places):
    """|v| (scaled by 10^places) as DIGITS.DIGITS text, with at least one fraction digit."""
    a = abs(v)
    whole, frac = divmod(a, 10 ** places)
    f = str(frac).rjust(places, "0").rstrip("0") or "0"
    return f"{whole}.{f}"


def date_text(days):
    return datetime.date.fromordinal(days + EPOCH).isoformat()


def time_text(us, rng=None, offset=False):
    days, rest = divmod(us, US_DAY)
    d = datetime.date.fromordinal(days + EPOCH)
    secs, micro = divmod(rest, 1_000_000)
    hh, rem = divmod(secs, 3600)
    mm, ss = divmod(rem, 60)
    frac = ""
    if micro:
        frac = "." + str(micro).rjust(6, "0").rstrip("0")
    if offset and rng is not None and rng.random() < 0.5:
        # The same instant written with a zone offset: RFC 3339 normalises it.
        off_min = rng.choice([60, 120, -300, 330])
        local = us + off_min * US_MIN
        ld, lrest = divmod(local, US_DAY)
        lsecs, lmicro = divmod(lrest, 1_000_000)
        lh, lrem = divmod(lsecs, 3600)
        lm, ls = divmod(lrem, 60)
        sign = "+" if off_min >= 0 else "-"
        oh, om = divmod(abs(off_min), 60)
        lfrac = "." + str(lmicro).rjust(6, "0").rstrip("0") if lmicro else ""
        return (f"{datetime.date.fromordinal(ld + EPOCH).isoformat()}T{lh:02d}:{lm:02d}:{ls:02d}{lfrac}"
                f"{sign}{oh:02d}:{om:02d}")
    return f"{d.isoformat()}T{hh:02d}:{mm:02d}:{ss:02d}{frac}Z"


def days_of(y, m, d):
    return datetime.date(y, m, d).toordinal() - EPOCH


STRING_POOL = ["", "a", "A", "abc", "ABC", "card", "Card", "wire", "VIP", "vip", "gold", "EURUSD",
               "x y", "Ωμέγα", "ΣΊΣΥΦΟΣ", "привет", "ПРИВЕТ", "Straße", "ÀÉÎÕÜ", "àéîõü", "ĳĲ",
               "😀", "a😀b", "日本", "tab\there", "quote\"d", "back\\slash", "line\nbreak", "ǅ", "nul\u0000byte",
               # Longer than any small-string buffer, so both string representations are read.
               "a string well beyond the small buffer", "ÉCOLE ÉLÉMENTAIRE — ÜBER ΣΟΦΊΑ"]


def perk_string_literal(s, rng):
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32:
            out.append("\\u{%X}" % ord(ch))
        elif ord(ch) > 127 and rng.random() < 0.3:
            out.append("\\u{%X}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class ProgramGen:
    def __init__(self, rng, big=False):
        self.rng = rng
        self.big = big
        self.names = set()
        self.currency = None
        self.zone = None      # a ZoneInfo, or None for UTC
        self.events = []
        self.client_fields = []
        self.wallets = []   # (name, type)
        self.vars = []      # (name, type)
        self.params = []    # (name, type, val)
        self.percent_params = set()  # decimal params declared as a percentage (`30%`)
        self.count_params = []       # int params only ever used as duration counts (C5)
        self.duration_params = []    # (name, unit) of duration params (C5)
        self.tiers = []
        self.segments = []
        self.badges = []
        self.rules = []     # list of rule texts
        # Literals the stream reuses so equality tests and `in` lists hit.
        self.pool = {t: [] for t in FIELD_TYPES}
        # How eager to place runtime hazards: 0 none beyond what the data brings, 2 many.
        self.danger = rng.choice([0, 0, 1, 1, 2])
        self.max_depth = rng.choice([2, 3, 3, 4, 4, 6])
        self.params_in_constants = set()
        # [v0.2] Sends (C9) in the whole program: few, so chains (up to the cap of 8) stay small.
        self.sends_left = rng.choice([0, 1, 1, 2, 3])
        self.sending_events = set()  # event types with a rule that sends: their reversals reach further

    # ---- names

    def worth_and_revenue(self, decls):
        """C12: `worth` on int wallets and `revenue` declarations. Only reports read them, so the
        engines' ledgers must not change. Drawn from a generator of its own, seeded by the
        declarations so far, so the other constructs' random choices stay as they were."""
        if not self.currency:
            return
        sub = random.Random("\n".join(decls))
        for k, d in enumerate(decls):
            head, int_wallet, expiry = d.partition(": int")
            if d.startswith("wallet ") and int_wallet and sub.random() < 0.5:
                c = sub.randint(1, 50_000)  # cents, never 0
                # `worth` comes before `expires after` (spec §3).
                decls[k] = head + int_wallet + f" worth {c // 100}.{c % 100:02d} {self.currency}" + expiry
        for ev in self.events:
            money = [f for f in ev.fields if f.t == "money"]
            if money and sub.random() < 0.5:
                f = sub.choice(money)
                where = sub.choice(["", f" where {ev.name}.{f.name} > 0 {self.currency}",
                                    f" where not ({ev.name}.{f.name} == 1 {self.currency})"])
                decls.append(f"revenue {ev.name}.{f.name}{where}")

    def fresh(self, base):
        rng = self.rng
        for _ in range(100):
            style = rng.random()
            if style < 0.08:
                name = rng.choice(["café", "пункты", "ταμείο", "Ärger", "_x"]) + str(rng.randint(0, 99))
            else:
                name = f"{base}{rng.randint(0, 999)}"
            if name not in self.names and name not in KEYWORDS:
                self.names.add(name)
                return name
        raise RuntimeError("out of names")

    # ---- literals

    def lit(self, t, scope=None):
        """A literal of type t: (text, value), values scaled as in stdlib.h."""
        rng = self.rng
        hazard = self.danger and rng.random() < 0.04 * self.danger
        if t == "int":
            if hazard:
                v = rng.choice([I64_MAX, 2 ** 62, 3_037_000_500, 10 ** 15, 9_000_000_000_000])
            else:
                v = rng.choice([0, 1, 2, 3, 5, 7, 10, 12, 100, 1000, 250, 1_000_000, rng.randint(0, 50)])
            if rng.random() < 0.15 and v != 0:
                v = -v
            self.pool["int"].append(v)
            return (("-" + fmt_int(v, rng)) if v < 0 else fmt_int(v, rng)), v
        if t == "decimal":
            if rng.random() < 0.2:
                pct = rng.choice([1, 5, 10, 12.5, 30, 100, 150, 0.01, 33.3333])
                micros = int(round(pct * 10_000))
                text = f"{pct}%"
                self.pool["decimal"].append(micros)
                return text, micros
            if hazard:
                micros = rng.choice([I64_MAX, 9_000_000_000_000 * DEC + 1])
            else:
                micros = rng.choice([0, 500_000, 2_500_000, 1, 1_000_001, 333_333, 1_500_000, 10 * DEC,
                                     rng.randint(0, 100 * DEC)])
            if rng.random() < 0.15 and micros:
                micros = -micros
            self.pool["decimal"].append(micros)
            text = scaled_text(micros, 6)
            return (("-" + text) if micros < 0 else text), micros
        if t == "money":
            if hazard:
                cents = rng.choice([I64_MAX, 10 ** 17])
            else:
                cents = rng.choice([0, 1, 50, 100, 1000, 1005, 10000, 25050, 100000, rng.randint(0, 100000)])
            if rng.random() < 0.1 and cents:
                cents = -cents
            self.pool["money"].append(cents)
            if cents % 100 == 0 and rng.random() < 0.5:
                text = fmt_int(cents // 100, rng)
            else:
                text = scaled_text(cents, 2)  # may have one fraction digit: `12.5 USD`
            text = f"{text} {self.currency}"
            return (("-" + text) if cents < 0 else text), cents
        if t == "bool":
            v = rng.random() < 0.5
            return ("true" if v else "false"), int(v)
        if t == "string":
            s = rng.choice(STRING_POOL + [f"s{rng.randint(0, 9)}"])
            self.pool["string"].append(s)
            return perk_string_literal(s, rng), None
        if t == "date":
            d = self.random_date()
            self.pool["date"].append(d)
            return date_text(d), d
        if t == "time":
            d = self.random_date()
            us = d * US_DAY + rng.choice([0, 0, 10 * US_HOUR, rng.randint(0, US_DAY - 1)])
            if rng.random() < 0.1:
                us += rng.choice([500_000, 123_456])
            self.pool["time"].append(us)
            return time_text(us, rng, offset=True), us
        if t == "tier":
            k = rng.randrange(len(self.tiers))
            return self.tiers[k], k
        raise ValueError(t)

    def random_date(self):
        rng = self.rng
        if rng.random() < 0.2:
            return rng.choice([days_of(2024, 2, 29), days_of(2000, 2, 29), days_of(2025, 12, 31), days_of(1970, 1, 1)])
        return days_of(rng.choice([1990, 2000, 2020, 2024, 2025, 2026, 2027, 2028]), rng.randint(1, 12),
                       rng.choice([1, 5, 15, 28]))

    def lit_e(self, t, scope=None):
        text, v = self.lit(t, scope)
        neg = text.startswith("-")
        if t == "string":
            return E(text, t, True, None if v is None else v)
        return E(text, t, True, v, atom=not neg)

    # ---- typing helpers

    def widen(self, e):
        if e.t != "int":
            return e
        if e.const:
            if e.val is None:
                raise Retry()
            try:
                v = MIRROR["widen"](e.val)
            except Fail:
                raise Retry()
            return E(e.text, "decimal", True, v, e.atom)
        return E(e.text, "decimal", False, None, e.atom)

    def op(self, name, t, text, args, atom=False):
        """An operation the checker folds when all its operands are constants."""
        if all(a.const for a in args):
            if any(a.val is None for a in args):
                raise Retry()
            try:
                v = MIRROR[name](*[a.val for a in args])
            except Fail:
                raise Retry()
            return E(text, t, True, v, atom)
        return E(text, t, False, None, atom)

    def pure(self, t, text, args, fn=None, atom=False):
        """An operation that cannot fail; folded when every operand is constant."""
        if all(a.const for a in args):
            v = None
            if fn is not None and all(a.val is not None for a in args):
                v = fn(*[a.val for a in args])
            return E(text, t, True, v, atom)
        return E(text, t, False, None, atom)

    # ---- leaves

    def leaf(self, t, sc):
        """A leaf of type t readable in scope sc (literals included)."""
        rng = self.rng
        cands = []  # (weight, builder)

        def add(w, f):
            cands.append((w, f))

        if t != "tier" or self.tiers:
            # Fewer literals where state can be read: constants fold away and test less.
            add(3 if sc.constant else 1.5, lambda: self.lit_e(t, sc))
        if sc.place != "param":
            for (name, pt, val) in self.params:
                if pt == t:
                    add(1.5, lambda name=name, val=val: self.param_ref(name, t, val, sc))
        if t == "tier" and self.tiers:
            if sc.state:
                add(3, lambda: E("tier", "tier"))
            if sc.place == "tier_changed":
                add(3, lambda: E("previous_tier", "tier"))
        if sc.constant:
            return self.choose(cands)()
        ev = sc.event if sc.place in ("event", "filter") else None
        if ev is not None:
            for f in ev.fields:
                if f.t == t:
                    add(4, lambda f=f: E(f"{ev.name}.{f.name}", t))
            if t == "string":
                add(1, lambda: E(f"{ev.name}.{rng.choice(['id', 'client'])}", t))
            if t == "time":
                add(1, lambda: E(f"{ev.name}.time", t))
        if sc.state:
            for f in self.client_fields:
                if f.t == t:
                    if f.default is not None:
                        add(2, lambda f=f: E(f"client.{f.name}", t))
                    else:
                        add(2, lambda f=f: self.optional_read(f, sc))
                if t == "bool" and f.default is None:
                    # `is set` binds like a comparison: parenthesised, it is an atom.
                    add(1, lambda f=f: E(f"(client.{f.name} is {rng.choice(['', 'not '])}set)", t))
            if t == "string":
                add(1, lambda: E("client.id", t))
            if t == "time":
                add(1, lambda: E("client.since", t))
                add(2, lambda: E("now", t))
            if t == "date":
                add(2, lambda: E("today", t))
            for (name, wt) in self.wallets:
                if wt == t:
                    add(2, lambda name=name: E(name, t))
                    self.pending_read(add, name, t)
            for (name, vt) in self.vars:
                if vt == t:
                    add(2, lambda name=name: E(name, t))
            if t == "bool":
                for s in self.segments:
                    add(1.5, lambda s=s: E(s, t))
                add(1, lambda: E(f"has_badge({self.badge_text()})", t))
            if t in NUMERIC:
                add(4, lambda: self.aggregate(t))
        return self.choose(cands)()

    # ---- C11: lots and pending credits (spec §3, §5 step 2a)

    def lot_duration(self):
        """A duration a day tick can count: mostly a few days, so lots expire within a stream."""
        rng = self.rng
        return self.choose([(6, lambda: f"{rng.randint(1, 6)} day{rng.choice(['', 's'])}"),
                            (2, lambda: f"{rng.randint(1, 3)} weeks"),
                            (1, lambda: f"1 month"),
                            (0.3, lambda: f"{rng.randint(1, 2)} years")])()

    def wallet_expiry(self):
        """`expires after D` for some wallets of a lots program."""
        if not self.lots or self.rng.random() < 0.4:
            return ""
        return f" expires after {self.lot_duration()}"

    def credit_pending(self):
        """`pending D` on some credits of a lots program."""
        if not self.lots or self.rng.random() < 0.5:
            return ""
        return f" pending {self.lot_duration()}"

    def pending_read(self, add, name, t):
        """`pending(W)`, the wallet's credits not yet released, in a lots program."""
        if self.lots:
            add(1, lambda: E(f"pending({name})", t))

    def optional_read(self, f, sc):
        """A read of an optional client attribute (no default, spec §2) where it may be unset:
        `otherwise` or an `if ... is set` guard around it (the checker refuses a bare read)."""
        alt = self.lit_e(f.t, sc).wrapped()
        x = f"client.{f.name}"
        form = self.rng.random()
        if f.name in getattr(self, "known_set", ()) and form < 0.5:
            return E(x, f.t)
        if form < 0.45:
            return E(f"({x} otherwise {alt})", f.t)
        if form < 0.8:
            return E(f"(if {x} is set then {x} else {alt})", f.t)
        if form < 0.9:
            return E(f"(if {x} is not set then {alt} else {x})", f.t)
        # A guard read through `and`/`or`: a bool of the attribute's own.
        if f.t == "bool":
            return E(f"({x} is set and {x})", f.t)
        return E(f"({x} otherwise {alt})", f.t)

    def param_ref(self, name, t, val, sc):
        if sc.constant:
            # Folded at load time: an override could make this constant fail, so never override it.
            self.params_in_constants.add(name)
        return E(name, t, sc.constant, val)

    def overrides(self):
        """`--param NAME=VALUE` arguments for some params that no constant depends on."""
        rng = self.rng
        args = []
        for (name, t, _) in self.params:
            if name in self.params_in_constants or rng.random() < 0.5:
                continue
            if t == "string":
                text = rng.choice(STRING_POOL[:12])
                value = f'"{text}"' if rng.random() < 0.3 else text
            elif t == "bool":
                value = rng.choice(["true", "false"])
            elif t == "int":
                value = str(rng.choice([0, 3, -7, 1000, I64_MAX]))
            elif t == "decimal" and name in self.percent_params:
                # Declared as a percentage: only a percentage is taken (C5).
                value = rng.choice(["25%", "0%", "-0.0001%", "12.3456%"])
            elif t == "decimal":
                value = rng.choice(["2.5", "25%", "0", "-0.000001", "12.3456%"])
            elif t == "money":
                value = rng.choice([f"500 {self.currency}", f"12.34 {self.currency}", f"0 {self.currency}",
                                    f"-1.5 {self.currency}"])
            elif t == "date":
                value = date_text(self.random_date())
            else:
                value = time_text(self.random_date() * US_DAY + US_HOUR)
            args += ["--param", f"{name}={value}"]
        for name in self.count_params:
            if rng.random() < 0.3:
                args += ["--param", f"{name}={rng.randint(1, 40)}"]
        for name, unit in self.duration_params:
            if rng.random() < 0.3:
                # In the declared unit (weeks and days are one kind): an aggregate window keeps it.
                unit = rng.choice(["days", "weeks"]) if unit in ("days", "weeks") else unit
                args += ["--param", f"{name}={rng.randint(1, 40)} {unit}"]
        return args

    def badge_text(self):
        rng = self.rng
        if not self.badges or rng.random() < 0.2:
            self.badges.append(rng.choice(["gold", "vip", "Straße", "😀", "b"]) + str(rng.randint(0, 5)))
        return perk_string_literal(rng.choice(self.badges), rng)

    def choose(self, cands):
        total = sum(w for w, _ in cands)
        x = self.rng.random() * total
        for w, f in cands:
            x -= w
            if x <= 0:
                return f
        return cands[-1][1]

    def param_duration(self):
        """A duration written with a param (C5), or None when the program has none."""
        rng = self.rng
        forms = []
        if self.count_params:
            # No years: a count param may be overridden up to 40, and windows stop at 27 years.
            forms.append(lambda: f"{rng.choice(self.count_params)} {rng.choice(['minutes', 'hours', 'days', 'weeks', 'months'])}")
        if self.duration_params:
            forms.append(lambda: rng.choice(self.duration_params)[0])
        return rng.choice(forms)() if forms else None

    def window(self, allow_none=True):
        rng = self.rng
        if allow_none and rng.random() < 0.3:
            return ""
        if rng.random() < 0.2:
            d = self.param_duration()
            if d is not None:
                # `previous` counts whole days or longer: a count param's unit or a duration
                # param's declared unit says which.
                whole_units = d.split()[-1] if " " in d else dict(self.duration_params).get(d, "")
                if whole_units.startswith(("day", "week", "month")) and rng.random() < 0.3:
                    return f" within previous {d}"
                return f" within {d}"
        unit = rng.choice(["minute", "minutes", "hour", "hours", "day", "days", "days", "week", "weeks",
                           "month", "months", "months", "year", "years"])
        n = rng.choice([1, 1, 2, 3, 7, 30, 90, rng.randint(1, 400)])
        if unit.startswith("minute"):
            n = min(n, 10_000 * 1440)
        if unit.startswith("month"):
            n = rng.choice([1, 1, 2, 3, 12, rng.randint(1, 328)])
        if unit.startswith("year"):
            n = rng.choice([1, 1, 2, rng.randint(1, 27)])
        previous = "previous " if not unit.startswith(("minute", "hour")) and rng.random() < 0.35 else ""
        text = f" within {previous}{n} {unit}"
        # A window and its `previous` twin of the same length now and then: over one event they
        # share a slot, and each needs its own cached fold.
        recent = self.__dict__.setdefault("recent_windows", [])
        if recent and rng.random() < 0.25:
            other = rng.choice(recent)
            text = other.replace("previous ", "") if "previous " in other else other.replace(" within ", " within previous ")
        if "previous " in text and text.split()[-1].startswith(("minute", "hour")):
            text = text.replace("previous ", "")
        recent.append(text)
        return text

    def aggregate(self, t):
        """An aggregate whose result has type t, over one of the events."""
        rng = self.rng
        choices = []
        for ev in self.events:
            if t == "int":
                choices.append(("count", ev, None))
            for f in ev.fields:
                if f.t not in NUMERIC:
                    continue
                if f.t == t:
                    choices += [("sum", ev, f), ("highest", ev, f), ("lowest", ev, f)]
                    if t != "int":
                        choices.append(("avg", ev, f))
                if t == "decimal" and f.t == "int":
                    choices.append(("avg", ev, f))
        if not choices:
            raise Retry()
        kind, ev, f = rng.choice(choices)
        where = ""
        if rng.random() < 0.4:
            w = self.gen("bool", Scope("filter", ev), 2)
            where = f" where {w.text}"
        win = self.window()
        arg = ev.name if f is None else f"{ev.name}.{f.name}"
        return E(f"{kind}({arg}{where}{win})", t)

    # ---- expressions

    def gen(self, t, sc, depth):
        for attempt in range(8):
            try:
                return self._gen(t, sc, depth if attempt < 3 else min(depth, 1))
            except Retry:
                continue
        return self.safe(t, sc)

    def safe(self, t, sc):
        """A small literal that never fails."""
        return {
            "int": E("1", "int", True, 1),
            "decimal": E("0.5", "decimal", True, 500_000),
            "money": E(f"1 {self.currency}", "money", True, 100),
            "bool": E("true", "bool", True, 1),
            "string": E('"s"', "string", True, "s"),
            "time": E("2026-01-01T00:00:00Z", "time", True, days_of(2026, 1, 1) * US_DAY),
            "date": E("2026-01-01", "date", True, days_of(2026, 1, 1)),
            "tier": E(self.tiers[0], "tier", True, 0) if self.tiers else None,
        }[t]

    def sub(self, t, sc, depth):
        return self.gen(t, sc, depth - 1)

    def _gen(self, t, sc, depth):
        rng = self.rng
        if t == "money" and not self.currency:
            raise ValueError("money without currency")
        if depth <= 0 or rng.random() < 0.25:
            return self.leaf(t, sc)
        prods = getattr(self, "p_" + t)(sc, depth)
        return self.choose(prods)()

    def numeric_pair_for_decimal(self, sc, depth):
        """Two operands whose unification is decimal (int widens)."""
        rng = self.rng
        ta, tb = rng.choice([("decimal", "decimal"), ("int", "decimal"), ("decimal", "int")])
        return self.widen(self.sub(ta, sc, depth)), self.widen(self.sub(tb, sc, depth))

    def ifexpr(self, t, sc, depth):
        c = self.sub("bool", sc, depth)
        a = self.sub(t, sc, depth)
        b = self.sub(t, sc, depth)
        if t == "decimal":
            # A branch may be int: it widens to the other's type.
            if self.rng.random() < 0.3:
                a = self.widen(self.sub("int", sc, depth))
        text = f"if {c.text} then {a.text} else {b.text}"
        if c.const:
            if c.val is None:
                const = a.const or b.const
                return E(text, t, const, None, False)
            chosen = a if c.val else b
            return E(text, t, chosen.const, chosen.val, False)
        return E(text, t, False, None, False)

    def minmax(self, t, sc, depth):
        rng = self.rng
        name = rng.choice(["min", "max"])
        n = rng.choice([2, 2, 3])
        args = []
        for _ in range(n):
            if t == "decimal" and rng.random() < 0.3:
                args.append(self.sub("int", sc, depth))
            else:
                args.append(self.sub(t, sc, depth))
        if t == "decimal":
            # Perk's min/max is decimal only when an argument is: with ints alone it is an int.
            if all(a.t == "int" for a in args):
                args[rng.randrange(n)] = self.sub("decimal", sc, depth)
            args = [self.widen(a) for a in args]
        # Folded pairwise, left to right.
        acc = args[0]
        f = min if name == "min" else max
        for a in args[1:]:
            acc = self.pure(t, "", [acc, a], lambda x, y: f(x, y))
        return E(f"{name}({', '.join(a.text for a in args)})", t, acc.const, acc.val)

    def risky_int(self, sc, depth):
        """An int operand that is often zero or huge when the program is set to be dangerous."""
        rng = self.rng
        if self.danger and rng.random() < 0.1 * self.danger:
            return self.leaf("int", sc)
        return self.sub("int", sc, depth)

    def divisor(self, t, sc, depth):
        """A divisor of type t: a constant that is not zero unless the program is dangerous."""
        rng = self.rng
        if self.danger == 0 or rng.random() > 0.15 * self.danger:
            for _ in range(5):
                e = self.lit_e(t, sc)
                if e.val:
                    return e
            return self.safe(t, sc)
        return self.sub(t, sc, depth)

    def p_int(self, sc, depth):
        rng = self.rng

        def binop(sym, name):
            def f():
                a, b = self.sub("int", sc, depth), self.risky_int(sc, depth)
                return self.op(name, "int", f"{a.wrapped()} {sym} {b.wrapped()}", [a, b])
            return f

        def modop():
            a = self.sub("int", sc, depth)
            b = self.divisor("int", sc, depth)
            return self.op("mod", "int", f"{a.wrapped()} mod {b.wrapped()}", [a, b])

        def neg():
            a = self.sub("int", sc, depth)
            return self.op("neg", "int", f"-{a.wrapped()}", [a])

        def absf():
            a = self.sub("int", sc, depth)
            return self.op("abs", "int", f"abs({a.text})", [a], atom=True)

        def rounding():
            name = rng.choice(["floor", "ceil", "round"])
            if rng.random() < 0.15:
                a = self.sub("int", sc, depth)
                return E(f"{name}({a.text})", "int", a.const, a.val)
            a = self.sub("decimal", sc, depth)
            return self.op(name + "_dec", "int", f"{name}({a.text})", [a], atom=True)

        def days_between():
            a = self.sub(rng.choice(["date", "time"]), sc, depth)
            b = self.sub(rng.choice(["date", "time"]), sc, depth)

            def todate(x):
                return self.todate(x) if x is not None else None
            av = a.val if a.t == "date" else (todate(a.val) if a.val is not None else None)
            bv = b.val if b.t == "date" else (todate(b.val) if b.val is not None else None)
            e = self.pure("int", "", [E("", "date", a.const, av), E("", "date", b.const, bv)],
                          lambda x, y: y - x)
            return E(f"days_between({a.text}, {b.text})", "int", e.const, e.val)

        def calendar():
            # [v0.2] year month day weekday of a date or a time, hour minute of a time, in the zone.
            f = rng.choice(["year", "month", "day", "weekday", "hour", "minute"])
            a = self.sub("time" if f in ("hour", "minute") else rng.choice(["date", "time"]), sc, depth)

            def value(x):
                try:
                    if f in ("hour", "minute"):
                        loc = _local(self.zone, x)
                        return loc.hour if f == "hour" else loc.minute
                    d = datetime.date.fromordinal((x if a.t == "date" else tz_date(self.zone, x)) + EPOCH)
                except (Fail, OverflowError, ValueError):
                    return None
                return {"year": d.year, "month": d.month, "day": d.day, "weekday": d.isoweekday()}[f]
            return self.pure("int", f"{f}({a.text})", [a], value, atom=True)

        return [(3, binop("+", "add")), (2, binop("-", "sub")), (2, binop("*", "mul_int")), (1, modop),
                (1, neg), (0.7, absf), (1.5, rounding), (1, lambda: self.minmax("int", sc, depth)),
                (1, lambda: self.ifexpr("int", sc, depth)), (0.7, days_between), (1, calendar)]

    def p_decimal(self, sc, depth):
        rng = self.rng

        def arith(sym, name):
            def f():
                a, b = self.numeric_pair_for_decimal(sc, depth)
                return self.op(name, "decimal", f"{a.wrapped()} {sym} {b.wrapped()}", [a, b])
            return f

        def div():
            kind = rng.choice(["ii", "dd", "id", "di"])
            if kind == "ii":
                a = self.sub("int", sc, depth)
                b = self.divisor("int", sc, depth)
                return self.op("div_int", "decimal", f"{a.wrapped()} / {b.wrapped()}", [a, b])
            a = self.sub("decimal" if kind[0] == "d" else "int", sc, depth)
            b = self.divisor("decimal", sc, depth) if kind[1] == "d" else self.divisor("int", sc, depth)
            wa, wb = self.widen(a), self.widen(b)
            return self.op("div_dec", "decimal", f"{a.wrapped()} / {b.wrapped()}", [wa, wb])

        def ratio():
            a = self.sub("money", sc, depth)
            b = self.divisor("money", sc, depth)
            return self.op("div_money_money", "decimal", f"{a.wrapped()} / {b.wrapped()}", [a, b])

        def neg():
            a = self.sub("decimal", sc, depth)
            return self.op("neg", "decimal", f"-{a.wrapped()}", [a])

        def absf():
            a = self.sub("decimal", sc, depth)
            return self.op("abs", "decimal", f"abs({a.text})", [a], atom=True)

        prods = [(3, arith("+", "add")), (2, arith("-", "sub")), (2, arith("*", "mul_dec")), (2, div),
                 (1, neg), (0.5, absf), (1, lambda: self.minmax("decimal", sc, depth)),
                 (1, lambda: self.ifexpr("decimal", sc, depth))]
        if self.currency:
            prods.append((1, ratio))
        return prods

    def p_money(self, sc, depth):
        rng = self.rng

        def addsub(sym, name):
            def f():
                a, b = self.sub("money", sc, depth), self.sub("money", sc, depth)
                return self.op(name, "money", f"{a.wrapped()} {sym} {b.wrapped()}", [a, b])
            return f

        def mul():
            m = self.sub("money", sc, depth)
            k = rng.choice(["int", "decimal"])
            n = self.risky_int(sc, depth) if k == "int" else self.sub("decimal", sc, depth)
            name = "mul_money_int" if k == "int" else "mul_money_dec"
            text = f"{m.wrapped()} * {n.wrapped()}" if rng.random() < 0.5 else f"{n.wrapped()} * {m.wrapped()}"
            return self.op(name, "money", text, [m, n])

        def div():
            m = self.sub("money", sc, depth)
            k = rng.choice(["int", "decimal"])
            n = self.divisor(k, sc, depth)
            return self.op("div_money_int" if k == "int" else "div_money_dec", "money",
                           f"{m.wrapped()} / {n.wrapped()}", [m, n])

        def rounding():
            name = rng.choice(["floor", "ceil", "round"])
            a = self.sub("money", sc, depth)
            return self.op(name + "_money", "money", f"{name}({a.text})", [a], atom=True)

        def neg():
            a = self.sub("money", sc, depth)
            return self.op("neg", "money", f"-{a.wrapped()}", [a])

        def absf():
            a = self.sub("money", sc, depth)
            return self.op("abs", "money", f"abs({a.text})", [a], atom=True)

        return [(3, addsub("+", "add")), (2, addsub("-", "sub")), (3, mul), (2, div), (1, rounding),
                (0.7, neg), (0.5, absf), (1, lambda: self.minmax("money", sc, depth)),
                (1, lambda: self.ifexpr("money", sc, depth))]

    def p_bool(self, sc, depth):
        rng = self.rng

        def compare():
            kinds = ["int", "decimal", "mixed", "string", "time", "date", "bool"]
            if self.currency:
                kinds.append("money")
            if self.tiers:
                kinds.append("tier")
            k = rng.choice(kinds)
            if k == "mixed":
                a, b = self.numeric_pair_for_decimal(sc, depth)
                k = "decimal"
            else:
                a, b = self.sub(k, sc, depth), self.sub(k, sc, depth)
            ops = ["==", "!="] if k == "bool" else ["==", "!=", "<", "<=", ">", ">="]
            sym = rng.choice(ops)
            fns = {"==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y),
                   "<": lambda x, y: int(x < y), "<=": lambda x, y: int(x <= y),
                   ">": lambda x, y: int(x > y), ">=": lambda x, y: int(x >= y)}
            fn = fns[sym] if k != "string" else None
            return self.pure("bool", f"{a.wrapped()} {sym} {b.wrapped()}", [a, b], fn)

        def logic():
            sym = rng.choice(["and", "or"])
            a, b = self.sub("bool", sc, depth), self.sub("bool", sc, depth)
            fn = (lambda x, y: int(x and y)) if sym == "and" else (lambda x, y: int(x or y))
            return self.pure("bool", f"{a.wrapped()} {sym} {b.wrapped()}", [a, b], fn)

        def notf():
            a = self.sub("bool", sc, depth)
            return self.pure("bool", f"not {a.wrapped()}", [a], lambda x: int(not x))

        def inlist():
            kinds = ["int", "decimal", "string", "date", "time", "bool"]
            if self.currency:
                kinds.append("money")
            if self.tiers:
                kinds.append("tier")
            k = rng.choice(kinds)
            x = self.sub(k, sc, depth)
            if k == "decimal" and x.t == "int":
                k = "int"  # sub may give an int where a decimal is asked; the list follows x
            items = []
            csc = sc if sc.constant else Scope("const")
            n = rng.choice([0, 1, 2, 3, 4])
            for _ in range(n):
                it = self.gen(k, csc, 1) if rng.random() < 0.2 else self.leaf(k, csc)
                if k == "decimal" and rng.random() < 0.1:
                    it = self.leaf("int", csc)
                items.append(it)
            # The list holds values of the left side's type; int items of a decimal list are
            # folded and widened at check time (an int left side is never widened).
            if k == "decimal":
                for it in items:
                    if it.t == "int":
                        self.widen(E(it.text, "int", True, it.val))
            return E(f"{x.wrapped()} in [{', '.join(it.text for it in items)}]", "bool", atom=False)

        def strfn():
            name = rng.choice(["starts_with", "contains"])
            a, b = self.sub("string", sc, depth), self.sub("string", sc, depth)
            return self.pure("bool", f"{name}({a.text}, {b.text})", [a, b], atom=True)

        def anniv():
            a = self.sub(rng.choice(["date", "time"]), sc, depth)
            return E(f"anniversary({a.text})", "bool")

        def client_compare():
            return self.client_compare(sc)

        prods = [(4, compare), (2, logic), (1, notf), (1.5, inlist), (1, strfn),
                 (0.7, lambda: self.ifexpr("bool", sc, depth))]
        if sc.state:
            prods.append((0.7, anniv))
        if sc.state or sc.place in ("event", "filter"):
            prods.append((0.5, client_compare))
        return prods

    def p_string(self, sc, depth):
        rng = self.rng

        def case():
            name = rng.choice(["lower", "upper"])
            a = self.sub("string", sc, depth)
            return self.pure("string", f"{name}({a.text})", [a], atom=True)

        return [(2, case), (1, lambda: self.ifexpr("string", sc, depth))]

    def duration(self, calendar_only=False):
        rng = self.rng
        units = ["day", "days", "week", "weeks", "month", "months", "year", "years"]
        if not calendar_only:
            units += ["minute", "minutes", "hour", "hours", "day", "days", "week", "weeks"]
        unit = rng.choice(units)
        n = rng.choice([1, 2, 7, 30, 90, rng.randint(1, 1000)])
        if unit.startswith(("month", "year")):
            n = rng.choice([1, 1, 2, 3, 12, 13, rng.randint(1, 120)])
            return f"{n} {unit}", MONTHS_TAG + n * (12 if unit.startswith("year") else 1)
        mult = {"minute": US_MIN, "hour": US_HOUR, "day": US_DAY, "week": 7 * US_DAY}[unit.rstrip("s")]
        return f"{n} {unit}", n * mult

    def step_op(self, dtext, sign):
        """The mirror of time ± duration: a calendar step for days and longer in a zone, and
        for months and years anywhere; plain addition otherwise (v0.1)."""
        words = dtext.split()
        if len(words) == 1:
            # A duration param: its value is read at run time (an override may change it), so
            # the step is never folded here and either name will do.
            return "cal_add" if sign > 0 else "cal_sub"
        calendar = not words[1].startswith(("minute", "hour"))
        if calendar and (self.zone is not None or words[1].startswith(("month", "year"))):
            return "cal_add" if sign > 0 else "cal_sub"
        return "add" if sign > 0 else "sub"

    def p_time(self, sc, depth):
        rng = self.rng

        def plusminus():
            t = self.sub("time", sc, depth)
            dtext, dval = self.duration()
            d = E(dtext, "duration", True, dval)
            pd = self.param_duration() if rng.random() < 0.2 else None
            if pd is not None:
                # Read at run time (an override may change it): not a constant.
                dtext, d = pd, E(pd, "duration", False, None)
            form = rng.choice(["+", "-", "d+"])
            if form == "d+":
                return self.op(self.step_op(dtext, 1), "time", f"{dtext} + {t.wrapped()}", [t, d])
            return self.op(self.step_op(dtext, 1 if form == "+" else -1), "time", f"{t.wrapped()} {form} {dtext}", [t, d])

        return [(3, plusminus), (1, lambda: self.minmax("time", sc, depth)),
                (1, lambda: self.ifexpr("time", sc, depth))]

    def p_date(self, sc, depth):
        rng = self.rng

        def datef():
            a = self.sub(rng.choice(["time", "time", "date"]), sc, depth)
            if a.t == "date":
                return E(f"date({a.text})", "date", a.const, a.val)
            return self.pure("date", f"date({a.text})", [a], self.todate, atom=True)

        def plusminus():
            # [v0.2] date ± days, weeks, months or years.
            a = self.sub("date", sc, depth)
            dtext, dval = self.duration(calendar_only=True)
            d = E(dtext, "duration", True, dval)
            form = rng.choice(["+", "-", "d+"])
            if form == "d+":
                return self.op("date_add", "date", f"{dtext} + {a.wrapped()}", [a, d])
            return self.op("date_add" if form == "+" else "date_sub", "date", f"{a.wrapped()} {form} {dtext}", [a, d])

        return [(3, datef), (1, lambda: self.minmax("date", sc, depth)),
                (1, lambda: self.ifexpr("date", sc, depth)), (1.5, plusminus)]

    def todate(self, us):
        try:
            return tz_date(self.zone, us)
        except Fail:
            return None

    def p_tier(self, sc, depth):
        return [(1, lambda: self.minmax("tier", sc, depth)), (1, lambda: self.ifexpr("tier", sc, depth))]

    # ---- constants (defaults, var initialisers, limits, budgets): checked with FoldConstant

    def const(self, t, place="const"):
        sc = Scope(place)
        e = self.gen(t, sc, self.rng.choice([0, 0, 1, 2]))
        if e.val is None and t not in ("string", "bool"):
            # An unknown constant value might fail where it is used; keep to a literal.
            return self.lit_e(t, sc)
        return e

    def positive_const(self, t):
        for _ in range(20):
            e = self.const(t)
            if e.val is not None and e.val > 0:
                return e
        return self.safe(t, Scope("const"))

    # ---- declarations

    def value_types(self):
        ts = ["int", "decimal", "bool", "string", "time", "date"]
        if self.currency:
            ts.append("money")
        return ts

    def build(self):
        rng = self.rng
        out = [f'program "{rng.choice(["Diff", "Δοκιμή", "Test ✓"])} {rng.randint(0, 9999)}"']
        if rng.random() < 0.9:
            self.currency = rng.choice(["USD", "EUR", "JPY"])
            out.append(f"currency {self.currency}")
        # [v0.2] A time zone, in most programs; "UTC" written out now and then.
        if rng.random() < 0.7:
            name = rng.choice(ZONES)
            out.append(f'timezone "{name}"')
            self.zone = None if name == "UTC" else ZoneInfo(name)
        MIRROR["cal_add"] = lambda a, b: cal_step(self.zone, a, b, 1)
        MIRROR["cal_sub"] = lambda a, b: cal_step(self.zone, a, b, -1)
        MIRROR["date_add"] = lambda a, b: date_step(a, b, 1)
        MIRROR["date_sub"] = lambda a, b: date_step(a, b, -1)
        decls = []

        # params
        for _ in range(rng.randint(0, 4)):
            t = rng.choice(self.value_types())
            name = self.fresh("p_")
            e = self.gen(t, Scope("param"), rng.choice([0, 0, 1]))
            if e.val is None and t not in ("string", "bool"):
                e = self.lit_e(t)
            # Only literal-typed annotations: `param p: decimal = 5` widens an int literal.
            if t == "decimal" and rng.random() < 0.2:
                iv = rng.choice([0, 1, 5, 100])
                e = E(str(iv), "decimal", True, iv * DEC)
                decls.append(f"param {name}: decimal = {iv}")
            elif rng.random() < 0.3:
                decls.append(f"param {name}: {t} = {e.text}")
            else:
                decls.append(f"param {name} = {e.text}")
            self.params.append((name, t, e.val))
            bare = e.text.replace("(", "").replace(")", "").strip()
            if re.fullmatch(r"-?\s*[0-9_.]+%", bare):
                self.percent_params.add(name)

        # Params in durations (spec §1, C5): an int param as a count, a duration param whole.
        if rng.random() < 0.5:
            name = self.fresh("pn_")
            decls.append(f"param {name} = {rng.choice([1, 2, 3, 7, 30])}")
            self.count_params.append(name)
        if rng.random() < 0.4:
            name = self.fresh("pd_")
            unit = rng.choice(["minutes", "hours", "days", "weeks", "months"])
            decls.append(f"param {name} = {rng.choice([1, 2, 5, 30])} {unit}")
            self.duration_params.append((name, unit))

        # tiers come before expressions that may name them
        if rng.random() < 0.6:
            for _ in range(rng.randint(2, 4)):
                self.tiers.append(self.fresh(rng.choice(["Bronze", "Silver", "Gold", "Tier"])))
        # segments names first: conditions may read any segment
        seg_names = [self.fresh("seg_") for _ in range(rng.choice([0, 0, 1, 2, 3]))]

        # events
        n_events = rng.randint(1, 3) if not self.big else 3
        for _ in range(n_events):
            ev = Event(self.fresh(rng.choice(["deposit", "trade", "login", "ev_"])))
            used = set()
            for _ in range(rng.randint(0, 6)):
                t = rng.choice(self.value_types())
                if rng.random() < 0.2:
                    fname = rng.choice(KEYWORD_FIELDS)
                else:
                    fname = f"f{rng.randint(0, 99)}"
                if fname in used:
                    continue
                used.add(fname)
                f = Field(fname, t)
                if rng.random() < 0.35:
                    d = self.const(t)
                    f.default, f.default_val = d.text, d.val
                ev.fields.append(f)
            self.add_client_field(ev.fields, used)
            # Aggregates need a numeric field now and then.
            if not any(f.t in NUMERIC for f in ev.fields) and rng.random() < 0.7:
                ev.fields.append(Field("amt" if "amt" not in used else "amt2",
                                       "money" if self.currency and rng.random() < 0.5 else "int"))
            self.events.append(ev)
            fields = ", ".join(f"{f.name}: {f.t}" + (f" = {f.default}" if f.default else "") for f in ev.fields)
            sep = "," if rng.random() < 0.7 else ""
            if sep == "":
                fields = " ".join(f"{f.name}: {f.t}" + (f" = {f.default}" if f.default else "") for f in ev.fields)
            decls.append(f"event {ev.name} {{ {fields} }}")

        # client profile
        if rng.random() < 0.7:
            used = set()
            for _ in range(rng.randint(1, 4)):
                t = rng.choice(self.value_types())
                fname = rng.choice(["country", "birthdate", "vip", "score", "name", "joined", "limit2", "date"])
                if fname in used:
                    continue
                if fname == "birthdate":
                    t = "date"
                used.add(fname)
                f = Field(fname, t)
                if rng.random() < 0.4:
                    d = self.const(t)
                    f.default, f.default_val = d.text, d.val
                self.client_fields.append(f)
            self.add_client_field(self.client_fields, used)
            fields = ", ".join(f"{f.name}: {f.t}" + (f" = {f.default}" if f.default else "") for f in self.client_fields)
            decls.append(f"client {{ {fields} }}")

        # wallets
        self.lots = rng.random() < 0.35  # C11: expiring wallets and pending credits
        for _ in range(rng.randint(1, 3)):
            t = "money" if self.currency and rng.random() < 0.5 else "int"
            name = self.fresh("w_")
            self.wallets.append((name, t))
            decls.append(f"wallet {name}: {t}{self.wallet_expiry()}")
        self.worth_and_revenue(decls)

        # vars
        for _ in range(rng.randint(0, 4)):
            ts = self.value_types() + (["tier"] if self.tiers else [])
            t = rng.choice(ts)
            name = self.fresh("v_")
            init = self.const(t)
            if t == "decimal" and rng.random() < 0.2:
                init = E("0", "int", True, 0)
            self.vars.append((name, t))
            decls.append(f"var {name}: {t} = {init.text}")

        # v0.2: tiers read no segments, and a segment reads only the segments declared before it
        self.segments = []

        # tiers
        for k, name in enumerate(self.tiers):
            if k == 0:
                decls.append(f"tier {name}")
                continue
            cond = self.gen("bool", Scope("tier"), self.max_depth)
            hold = ""
            if rng.random() < 0.4:
                dtext, _ = self.duration()
                hold = f" hold {self.param_duration() or dtext if rng.random() < 0.3 else dtext}"
            decls.append(f"tier {name} when {cond.text}{hold}")

        for k, name in enumerate(seg_names):
            self.segments = list(seg_names[:k])
            cond = self.gen("bool", Scope("segment"), self.max_depth)
            decls.append(f"segment {name} when {cond.text}")
        self.segments = list(seg_names)

        # rules
        n_rules = rng.randint(1, 6) if not self.big else rng.randint(30, 60)
        for _ in range(n_rules):
            decls.append(self.rule())

        rng.shuffle(decls)  # declarations come in any order
        # ...but keep tiers in rank order relative to each other, and segments in their order.
        tier_lines = [d for d in decls if d.startswith("tier ")]
        tier_lines.sort(key=lambda d: self.tiers.index(d.split()[1]))
        it = iter(tier_lines)
        decls = [next(it) if d.startswith("tier ") else d for d in decls]
        seg_lines = [d for d in decls if d.startswith("segment ")]
        seg_lines.sort(key=lambda d: seg_names.index(d.split()[1]))
        it = iter(seg_lines)
        decls = [next(it) if d.startswith("segment ") else d for d in decls]
        return "\n".join(out) + "\n\n" + "\n\n".join(decls) + "\n"

    def rule(self):
        rng = self.rng
        name = self.fresh("r_")
        triggers = [("event", 6)]
        if self.tiers:
            triggers.append(("tier_changed", 1))
        triggers.append(("daily", 1))
        triggers += [("weekly", 0.5), ("monthly", 0.5)]
        if self.segments:
            triggers.append(("entering", 1.5))
            triggers.append(("leaving", 1))
        triggers.append(("reversed", 1.5))
        kind = self.choose([(w, (lambda k=k: k)) for k, w in triggers])()
        ev = None
        if kind == "reversed":
            ev, sc, trigger = self.reversed_trigger()
        elif kind == "event":
            ev = rng.choice(self.events)
            sc = Scope("event", ev)
            trigger = f"on {ev.name}"
        elif kind == "tier_changed":
            sc = Scope("tier_changed")
            trigger = "on tier_changed"
        elif kind in ("entering", "leaving"):
            # Segment rules see no event, like day-tick rules.
            sc = Scope("daily")
            trigger = f"on {kind} {rng.choice(self.segments)}"
        else:
            sc = Scope("daily")
            trigger = {"daily": "every day", "weekly": "every week", "monthly": "every month"}[kind]
        label = f' "{rng.choice(["Bonus", "Λ label", "x"])}"' if rng.random() < 0.3 else ""
        clauses = []
        optional = [f for f in self.client_fields if f.default is None]
        guard = None
        dated = [f for f in self.client_fields if f.t in ("date", "time")]
        if kind in ("daily", "weekly", "monthly") and rng.random() < 0.3:
            # An `and` chain holding anniversary(client.X): when nothing before it can fail, the
            # engine visits the rule's clients only on X's anniversaries (issue 19).
            f = rng.choice(dated + [None])  # None: client.since
            parts = []
            if f is not None and f.default is None:
                guard = f  # a bare read of an optional attribute needs `is set` before it
                parts.append(f"client.{f.name} is set")
            if rng.random() < 0.5:
                parts.insert(rng.randint(0, len(parts)), self.gen("bool", sc, rng.choice([0, 1, 2])).wrapped())
            parts.append(f"anniversary({'client.since' if f is None else 'client.' + f.name})")
            if rng.random() < 0.5:
                parts.append(self.gen("bool", sc, self.max_depth).wrapped())
            clauses.append("when " + " and ".join(parts))
        elif sc.state and optional and rng.random() < 0.25:
            # `when x is set and ...` covers the actions: they may read x bare (spec §2).
            guard = rng.choice(optional)
            clauses.append(f"when client.{guard.name} is set and {self.gen('bool', sc, self.max_depth).wrapped()}")
        elif rng.random() < 0.7:
            clauses.append(f"when {self.gen('bool', sc, self.max_depth).text}")
        if rng.random() < 0.4:
            if rng.random() < 0.3:
                count = "once"
            else:
                e = self.positive_const("int")
                count = e.text if e.atom and not e.text.startswith("-") else f"({e.text})"
                if e.val is None or e.val <= 0:
                    count = "2"
            per = "client"
            if ev is not None and rng.random() < 0.4:
                # v0.2 keyed limit: a key over the event's fields and constants, any type.
                kt = rng.choice(self.value_types() + (["tier"] if self.tiers else []))
                key = self.gen(kt, Scope("filter", ev), rng.choice([0, 1, 1, 2]))
                if rng.random() < 0.2:
                    key = self.client_expr(Scope("filter", ev))  # [v0.2] per friend, per referrer
                per = key.text if key.atom else f"({key.text})"
            clauses.append(f"limit {count} per {per}{self.window()}")
        # v0.2: one campaign budget and one per-client budget, each money or int, maybe partial.
        budget_kinds = (["money"] if self.currency else []) + ["int"]
        for per_client in (False, True):
            if rng.random() < (0.4 if not per_client else 0.3):
                bt = rng.choice(budget_kinds)
                e = self.positive_const(bt)
                text = e.text if e.atom and not e.text.startswith("-") else f"({e.text})"
                if e.val is None or e.val <= 0:
                    text = "50" if bt == "int" else f"50 {self.currency}"
                per = " per client" if per_client else ""
                partial = " partial" if rng.random() < 0.35 else ""
                clauses.append(f"budget {text}{per}{self.window()}{partial}")
        rng.shuffle(clauses)
        self.known_set = {guard.name} if guard else set()
        actions = [self.action(sc, 0) for _ in range(rng.randint(1, 5))]
        self.known_set = set()
        body = "\n".join("    " + a.replace("\n", "\n    ") for a in actions)
        cl = "".join(f"\n  {c}" for c in clauses)
        return f"rule {name}{label}\n  {trigger}{cl}\n  then\n{body}\nend"

    # ---- [v0.2] clients as values, and sends (C9)

    def add_client_field(self, fields, used):
        """Now and then a client-typed field (`friend: client`) in `fields`, an event's or the
        client block's; with a default id sometimes (a client attribute without one is optional)."""
        rng = self.rng
        if rng.random() > 0.35:
            return
        name = rng.choice(["friend", "referrer", "referred_by", "by", "to"])
        if name in used:
            return
        used.add(name)
        f = Field(name, "client")
        if rng.random() < 0.25:
            f.default, f.default_val = '"house"', "house"
        fields.append(f)

    def client_expr(self, sc):
        """A `client` value readable in sc: the event's client or its client fields, `client.id`,
        client attributes (optional ones guarded); None where no client can be read."""
        rng = self.rng
        cands = []
        ev = sc.event if sc.place in ("event", "filter") else None
        if ev is not None:
            cands.append(f"{ev.name}.client")
            cands += [f"{ev.name}.{f.name}" for f in ev.fields if f.t == "client"]
        if sc.state:
            cands.append("client.id")
            for f in self.client_fields:
                if f.t != "client":
                    continue
                x = f"client.{f.name}"
                if f.default is not None or f.name in getattr(self, "known_set", ()):
                    cands.append(x)
                else:
                    cands.append(f"({x} otherwise client.id)")
                    cands.append(f"(if {x} is set then {x} else client.id)")
        if not cands:
            return None
        return E(rng.choice(cands), "client")

    def client_compare(self, sc):
        """A client compared with a client or a string (ordered as its id, spec §2)."""
        rng = self.rng
        a = self.client_expr(sc)
        if rng.random() < 0.5:
            b = self.client_expr(sc)
        else:
            b = E(json_str(rng.choice(["c0", "c1", "house", "new0", ""])), "string")
        sym = rng.choice(["==", "!=", "==", "<", ">="])
        return E(f"{a.wrapped()} {sym} {b.wrapped()}", "bool", atom=False)

    def send_action(self, sc):
        """`send EVENT to X { ... }`: every field without a default given, others sometimes."""
        rng = self.rng
        self.sends_left -= 1
        if sc.event is not None:
            self.sending_events.add(sc.event.name)
        target = rng.choice(self.events)
        to = self.client_expr(sc)
        entries = []
        for f in target.fields:
            if f.default is not None and rng.random() < 0.5:
                continue
            v = self.client_expr(sc) if f.t == "client" else self.gen(f.t, sc, self.max_depth)
            entries.append(f"{f.name}: {v.text}")
        rng.shuffle(entries)
        data = " { " + ", ".join(entries) + " }" if entries or rng.random() < 0.3 else ""
        return f"send {target.name} to {to.text}{data}"

    def reversed_trigger(self):
        """[v0.2] `on EVENT reversed` (C10): the reversed event's fields are in scope."""
        ev = self.rng.choice(self.events)
        return ev, Scope("event", ev), f"on {ev.name} reversed"

    def data_map(self, sc):
        rng = self.rng
        if rng.random() < 0.2:
            return ""
        keys = []
        entries = []
        for _ in range(rng.randint(0, 4)):
            key = rng.choice(["amount", "tier", "from", "to", "k", "total", "when", "date", "x", "émoji"]) 
            if key in keys:
                continue
            keys.append(key)
            t = rng.choice(self.value_types() + (["tier"] if self.tiers else []))
            if rng.random() < 0.1:
                entries.append(f"{key}: {self.client_expr(sc).text}")  # [v0.2] written as its id
                continue
            entries.append(f"{key}: {self.gen(t, sc, self.max_depth).text}")
        sep = ", " if rng.random() < 0.8 else " "
        return " { " + sep.join(entries) + " }"

    def action(self, sc, nest):
        rng = self.rng
        kinds = [("credit", 4), ("debit", 1.5), ("notify", 1.5), ("emit", 2), ("grant", 1)]
        if self.vars:
            kinds.append(("set", 2.5))
        if nest < 2:
            kinds.append(("if", 1.5))
        if self.sends_left > 0:
            kinds.append(("send", 2))
        k = self.choose([(w, (lambda k=k: k)) for k, w in kinds])()
        if k == "send":
            return self.send_action(sc)
        if k in ("credit", "debit"):
            name, t = rng.choice(self.wallets)
            text = f"{k} {name} {self.gen(t, sc, self.max_depth).text}"
            return text + (self.credit_pending() if k == "credit" else "")
        if k == "set":
            name, t = rng.choice(self.vars)
            if t == "decimal" and rng.random() < 0.3:
                # An int value widens to the var's decimal (folded when constant).
                e = self.gen("int", sc, self.max_depth)
                try:
                    self.widen(e)
                except Retry:
                    e = self.gen(t, sc, self.max_depth)
            else:
                e = self.gen(t, sc, self.max_depth)
            return f"set {name} = {e.text}"
        if k == "notify":
            tpl = rng.choice(["welcome", "tier_up", "ñ", "promo"])
            return f'notify "{tpl}"{self.data_map(sc)}'
        if k == "emit":
            return f'emit "{rng.choice(["evt", "cashback", "log", "Σ"])}"{self.data_map(sc)}'
        if k == "grant":
            return f"grant {self.badge_text()}"
        cond = self.gen("bool", sc, self.max_depth)
        then = [self.action(sc, nest + 1) for _ in range(rng.randint(0, 3))]
        text = f"if {cond.text} then\n" + "".join("  " + a.replace("\n", "\n  ") + "\n" for a in then)
        if rng.random() < 0.5:
            els = [self.action(sc, nest + 1) for _ in range(rng.randint(0, 2))]
            text += "else\n" + "".join("  " + a.replace("\n", "\n  ") + "\n" for a in els)
        return text + "end"


# ---------------------------------------------------------------- streams

def json_str(s):
    return json.dumps(s, ensure_ascii=False)


class StreamGen:
    def __init__(self, rng, prog):
        self.rng = rng
        self.p = prog
        # How often numbers sit at the int64 limits: such records mostly overflow somewhere and
        # are rejected, so only some streams carry many of them.
        self.extreme = rng.choice([0, 0, 0.02, 0.1])
        self.clients = ["c0"]

    def value(self, t):
        """The JSON text of a random value of type t (an edge value now and then)."""
        rng = self.rng
        pool = self.p.pool.get(t, [])
        if pool and rng.random() < 0.2:
            v = rng.choice(pool)
        else:
            v = None
        if t == "int":
            if v is None and rng.random() < self.extreme:
                v = rng.choice([I64_MAX, I64_MIN, 2 ** 62, 3_037_000_500, 10 ** 12, -(10 ** 15)])
            if v is None:
                v = rng.choice([0, 0, 1, -1, 2, 5, 10, 100, rng.randint(-50, 1000), rng.randint(0, 10 ** 6)])
            if rng.random() < 0.05:
                return json_str(str(v))
            return str(v)
        if t in ("decimal", "money"):
            places = 6 if t == "decimal" else 2
            scale = 10 ** places
            if v is None and rng.random() < self.extreme:
                v = rng.choice([I64_MAX, I64_MIN + 1, 10 ** 17, -(10 ** 16)])
            if v is None:
                v = rng.choice([0, 0, 1, -1, scale, 5 * scale // 2, -scale // 2, rng.randint(-100 * scale, 1000 * scale),
                                rng.randint(0, 10 ** 6 * scale)])
            text = ("-" if v < 0 else "") + scaled_text(v, places)
            if text.endswith(".0") and rng.random() < 0.5:
                text = text[:-2]
            return json_str(text) if rng.random() < 0.5 else text
        if t == "bool":
            return rng.choice(["true", "false"])
        if t == "string":
            if v is None:
                v = rng.choice(STRING_POOL + ["", "c1", "\u0000nul", "ok"])
            if rng.random() < 0.2:
                v = rng.choice([v.upper(), v.lower()])
            return json_str(v)
        if t == "client":
            # [v0.2] A known client's id mostly, a new one now and then (known from the send),
            # and rarely "" (rejected: a client id is a non-empty string).
            if rng.random() < 0.01:
                return '""'
            return json_str(rng.choice(self.clients + ["new0", "new1", "house"]))
        if t == "date":
            if v is None:
                v = self.p.random_date()
            return json_str(date_text(v))
        if t == "time":
            if v is None:
                v = self.p.random_date() * US_DAY + rng.randint(0, US_DAY - 1)
            return json_str(time_text(v, rng, offset=True))
        raise ValueError(t)

    def reversal(self, clients, time_t, next_id):
        """[v0.2] A `reversal` record (C10): mostly of a recent event of its client (often one whose
        bonus was since spent, or whose firing's budget window has moved on), sometimes of an old one
        (often past the 30-day reach), an unknown id, another client's event, or one
        already reversed."""
        rng = self.rng
        r = rng.random()
        # Recent events of a type whose rules send: reversing them reverses what they sent (C9).
        senders = [e for e in self.events_seen[-12:] if e[3] in getattr(self.p, "sending_events", ())]
        if senders and rng.random() < 0.4:
            eid, client, _, _ = rng.choice(senders)
        elif r < 0.6:
            eid, client, _, _ = rng.choice(self.events_seen[-8:])
        elif r < 0.72:
            eid, client, _, _ = rng.choice(self.events_seen[:4])
        elif r < 0.8:
            eid, client = f"e{rng.randint(0, 10_000)}x", json_str(rng.choice(clients))
        elif r < 0.9:
            eid, _, _, _ = rng.choice(self.events_seen)
            client = json_str(rng.choice(clients))
        else:
            eid, client, _, _ = rng.choice(self.events_seen)
            if self.reversed_ids:
                eid, client = rng.choice(self.reversed_ids)
        self.reversed_ids.append((eid, client))
        parts = [('"type"', '"reversal"'), ('"id"', json_str(f"rv{next_id}")), ('"client"', client),
                 ('"time"', json_str(time_text(time_t, rng, offset=rng.random() < 0.1))), ('"of"', json_str(eid))]
        rng.shuffle(parts)
        return "{" + ",".join(f"{k}:{v}" for k, v in parts) + "}"

    def build(self):
        rng = self.rng
        p = self.p
        clients = [rng.choice(["c", "client_", "Клиент", "😀", "c "]) + str(k) for k in range(rng.randint(1, 6))]
        self.clients = clients
        start = days_of(rng.choice([2024, 2025, 2026, 2028]), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.4:
            # Days before a clock change or a month's end: Berlin's and New York's in March and
            # October/November, Lord Howe's in April and October, Sao Paulo's midnight gap.
            start = rng.choice([days_of(2026, 3, 27), days_of(2026, 10, 23), days_of(2026, 3, 6),
                                days_of(2026, 10, 30), days_of(2026, 4, 2), days_of(2026, 10, 1),
                                days_of(2018, 11, 1), days_of(2019, 2, 14), days_of(2026, 1, 29),
                                days_of(2024, 2, 27), days_of(2026, 12, 29)])
        t = start * US_DAY + rng.randint(0, US_DAY - 1)
        lines = []
        accepted = []  # event lines that may be sent again as duplicates
        self.events_seen = []  # (id, client, time, type) of the event lines, for reversals
        self.reversed_ids = []
        n = rng.randint(10, 120) if not p.big else rng.randint(100, 200)
        next_id = 0
        for _ in range(n):
            step = rng.random()
            if step < 0.15:
                dt = 0
            elif step < 0.6:
                dt = rng.randint(1, 3600) * 1_000_000
            elif step < 0.85:
                dt = rng.randint(1, 30) * US_HOUR
            elif step < 0.97:
                dt = rng.randint(1, 4) * US_DAY
            else:
                dt = rng.randint(20, 45) * US_DAY
            t += dt
            r = rng.random()
            time_t = t
            if r < 0.03 and lines:
                # Out of order: earlier than the clock.
                time_t = t - rng.randint(1, 48) * US_HOUR
            if self.events_seen and rng.random() < 0.1:
                line = self.reversal(clients, time_t, next_id)
                next_id += 1
                lines.append(line)
                accepted.append(line)
                continue
            kind = rng.random()
            if kind < 0.03:
                lines.append(rng.choice(['{"type": "nope"', "not json", '{"type":"mystery","time":"%s"}' % time_text(t),
                                         '{"type":"tick"}', '[1,2]', '{"type":"tick","time":"2026-13-45T00:00:00Z"}']))
                continue
            if kind < 0.05:
                lines.append("")
                continue
            if kind < 0.08 and accepted:
                again = rng.choice(accepted)
                if rng.random() < 0.3:
                    # The id reused with another time: a conflicting reuse (spec §4, C14), unless
                    # the first record was rejected or forgotten.
                    again = re.sub(r'"time":"[^"]*"', '"time":%s' % json_str(time_text(time_t)), again, count=1)
                lines.append(again)  # a duplicate id (or a reject again)
                continue
            if kind < 0.12:
                lines.append(json.dumps({"type": "tick", "time": time_text(time_t)}))
                continue
            if kind < 0.22 and p.client_fields:
                parts = [('"type"', '"profile"'), ('"client"', json_str(rng.choice(clients))),
                         ('"time"', json_str(time_text(time_t, rng, offset=True)))]
                if rng.random() < 0.2:
                    parts.append(('"id"', json_str(f"p{next_id}")))
                    next_id += 1
                for f in p.client_fields:
                    if rng.random() < 0.12:
                        # `null` unsets an optional attribute, or returns one to its default.
                        parts.append((json_str(f.name), "null"))
                    elif rng.random() < 0.6:
                        if f.name == "birthdate" or (f.t == "date" and rng.random() < 0.5):
                            # A birthday near the stream's days, so anniversary() hits.
                            d = time_t // US_DAY + rng.randint(-2, 3)
                            dd = datetime.date.fromordinal(d + EPOCH)
                            year = dd.year - rng.choice([1, 20, 33, 0])
                            try:
                                dd = dd.replace(year=year)
                            except ValueError:
                                dd = dd.replace(year=year, day=28)
                            parts.append((json_str(f.name), json_str(dd.isoformat())))
                        else:
                            parts.append((json_str(f.name), self.value(f.t)))
                rng.shuffle(parts)
                lines.append("{" + ",".join(f"{k}:{v}" for k, v in parts) + "}")
                continue
            ev = rng.choice(p.events)
            eid = f"e{next_id}"
            next_id += 1
            if rng.random() < 0.01:
                eid += "/r/1"  # [v0.2] `/` is reserved for sent ids: rejected
            parts = [('"type"', json_str(ev.name)), ('"id"', json_str(eid)), ('"client"', json_str(rng.choice(clients))),
                     ('"time"', json_str(time_text(time_t, rng, offset=rng.random() < 0.1)))]
            for f in ev.fields:
                if f.default is not None and rng.random() < 0.3:
                    continue
                if rng.random() < 0.01:
                    continue  # a missing required field: rejected
                if rng.random() < 0.01:
                    parts.append((json_str(f.name), rng.choice(['"abc"', "1.001", "null", "[]", '"2026-02-30"'])))
                    continue
                parts.append((json_str(f.name), self.value(f.t)))
            if rng.random() < 0.05:
                parts.append(('"unknown_key"', "1"))
            rng.shuffle(parts)
            line = "{" + ",".join(f"{k}:{v}" for k, v in parts) + "}"
            lines.append(line)
            accepted.append(line)
            self.events_seen.append((eid, dict(parts)['"client"'], time_t, ev.name))
        until = None
        if rng.random() < 0.5:
            until = time_text(t + rng.randint(1, 10) * US_DAY + rng.randint(0, US_DAY - 1))
        return "\n".join(lines) + "\n", until


def generate(seed):
    """(program text, stream text, extra `perk run` args) for a seed."""
    rng = random.Random(seed)
    big = rng.random() < 0.04
    prog = ProgramGen(rng, big=big)
    text = prog.build()
    stream, until = StreamGen(rng, prog).build()
    args = ["--until", until] if until else []
    if rng.random() < 0.2:
        args += prog.overrides()
    return text, stream, args


def write_case(directory, program, stream, args, about=""):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "program.perk"), "w", encoding="utf-8", newline="") as f:
        f.write(program)
    with open(os.path.join(directory, "events.jsonl"), "w", encoding="utf-8", newline="") as f:
        f.write(stream)
    with open(os.path.join(directory, "case.json"), "w", encoding="utf-8") as f:
        json.dump({"about": about, "args": args}, f, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--out", help="write program.perk, events.jsonl and case.json into this folder")
    a = ap.parse_args()
    program, stream, args = generate(a.seed)
    if a.out:
        write_case(a.out, program, stream, args, f"tests/difftest/gen.py {a.seed}")
    else:
        sys.stdout.write(program + "\n# ---- events" + (f" (run with {' '.join(args)})" if args else "") + "\n" + stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
