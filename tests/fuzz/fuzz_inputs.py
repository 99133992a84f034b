#!/usr/bin/env python3
"""A mutation fuzzer for Perk's two inputs: programs (`perk check`) and record streams (`perk run`).

usage: fuzz_inputs.py --perk PATH [--seconds N] [--seed S] [--engine interp] [--batch-lines N]
                      [--only programs|records]

Programs: seed programs (the shared conformance cases, examples/*, tests/golden/*,
bench/forex.perk) are mutated (tokens and lines deleted, duplicated, swapped;
keywords, operators, literals and unicode inserted; truncation) and checked
with a 10 s timeout. A failure is a crash (signal), a timeout, an exit code
other than 0 or 1, exit 1 without an `error:` line, exit 0 with one, or a
sanitizer report.

Records: seed event lines are mutated (random bytes, truncation, wrong types,
huge numbers, deep nesting, bad UTF-8, duplicated keys, bad times, ...) and run
in batches with `perk run PROGRAM --events FILE --rejects R --ledger L`. A
failure is a crash, a timeout, an exit code other than 0, a sanitizer report,
a reject that is not a JSON object with a non-empty `error` and an integer
`line` naming a non-blank input line (once), or a ledger that is not JSON
Lines numbered from seq 1.

Failing inputs are saved in tests/fuzz/crashes/ with a note of the command and
its output. Prints `N programs, N record batches, N failures`; exits 1 on any
failure.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
CRASH_DIR = os.path.join(ROOT, "tests", "fuzz", "crashes")
CHECK_TIMEOUT = 10
RUN_TIMEOUT = 30

KEYWORDS = """program currency event client wallet var param tier segment rule on when then end
every day limit once per within budget hold credit debit set notify grant emit if else and or not
in mod true false now today tier_changed previous_tier count sum avg highest lowest where int
decimal money bool string time date minute minutes hour hours days week weeks""".split()
OPERATORS = ["+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "=", "(", ")", "[", "]", "{",
             "}", ",", ":", ".", "%", "#", "\"", "\\", "..", "->", "=>", "&&", "||", "!", "@", "$",
             ";", "'", "`", "?"]
LITERALS = ["0", "1", "-1", "1_000_000", "9223372036854775807", "9223372036854775808",
            "-9223372036854775808", "99999999999999999999999999999", "2.5", "0.0000001",
            "1e10", "30%", "100%", "0%", "250.50 USD", "1 EUR", "0 USD", "-5 USD",
            "99999999999999999.99 USD", "30 days", "0 days", "1 minute", "5 weeks", "-3 hours",
            "\"\"", "\"x\"", "\"\\u{1F600}\"", "\"\\u{110000}\"", "\"\\q\"", "\"unterminated",
            "2026-03-01", "2026-02-30", "2026-03-01T10:00:00Z", "2026-13-01T25:61:61Z",
            "true", "false", "now", "today", "1__0", "0x10", "1.", ".5", "007"]
UNICODE = ["é", "Анна", "名前", "😀", "\u200b", "\u202e", "\ufeff", "\u0000", "\x7f", "ß", "İ",
           "\U0010ffff", "\u2028", "ǅ", "٣", "x\u0301"]
TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\d[\d_]*(?:\.\d+)?%?|\w+|==|!=|<=|>=|\S',
                      re.UNICODE)

SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                          r"runtime error:|MemorySanitizer|ThreadSanitizer|terminate called|"
                          r"Assertion .* failed|std::bad_alloc|Segmentation fault")


# ---------- seeds ----------

def seed_cases():
    """(program, events-or-None) pairs from every place that keeps Perk programs."""
    cases = []
    conf = os.path.join(SHARED, "conformance")
    tops = [conf, os.path.join(ROOT, "examples"), os.path.join(ROOT, "tests", "golden")]
    for top in tops:
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            if "program.perk" in filenames:
                ev = os.path.join(dirpath, "events.jsonl")
                cases.append((os.path.join(dirpath, "program.perk"), ev if os.path.isfile(ev) else None))
    forex = os.path.join(ROOT, "bench", "forex.perk")
    if os.path.isfile(forex):
        cases.append((forex, None))
    return cases


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# ---------- program mutations ----------

def tokens_of(text):
    """Tokens with the whitespace before each, so joining them gives the text back."""
    out, pos = [], 0
    for m in TOKEN_RE.finditer(text):
        out.append(text[pos:m.start()] + m.group(0))
        pos = m.end()
    out.append(text[pos:])
    return out


def random_insert(rng):
    pool = rng.choice([KEYWORDS, OPERATORS, LITERALS, UNICODE])
    return rng.choice(pool)


def mutate_program(text, rng):
    ops = rng.randint(1, 4)
    for _ in range(ops):
        op = rng.randrange(12)
        if op <= 5:
            toks = tokens_of(text)
            if len(toks) < 2:
                text += " " + random_insert(rng)
                continue
            i, j = rng.randrange(len(toks)), rng.randrange(len(toks))
            if op == 0:
                del toks[i]
            elif op == 1:
                toks.insert(i, toks[i])
            elif op == 2:
                toks[i], toks[j] = toks[j], toks[i]
            elif op == 3:
                toks.insert(i, " " + random_insert(rng) + " ")
            elif op == 4:
                toks[i] = " " + random_insert(rng)
            else:
                # Glue a literal or a unicode character to a token, without a space.
                toks[i] = toks[i] + rng.choice(UNICODE + LITERALS)
            text = "".join(toks)
        elif op <= 9:
            lines = text.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == 6:
                del lines[i]
            elif op == 7:
                lines.insert(i, lines[j])
            elif op == 8:
                lines[i], lines[j] = lines[j], lines[i]
            else:
                # A block of lines repeated many times: big but valid-looking input.
                lines[i:i] = lines[i:i + rng.randint(1, 8)] * rng.randint(2, 50)
            text = "\n".join(lines)
        elif op == 10:
            text = text[:rng.randrange(len(text) + 1)]
        else:
            # Deep nesting of parentheses or a long chain of operators.
            depth = rng.choice([50, 500, 5000])
            expr = rng.choice(["(" * depth + "1" + ")" * depth,
                               " + ".join(["1"] * depth),
                               "not " * depth + "true",
                               "-" * depth + "1",
                               "if true then " * depth + "1" + " else 2" * depth])
            toks = tokens_of(text)
            toks.insert(rng.randrange(len(toks)), " " + expr + " ")
            text = "".join(toks)
    return text


# ---------- record mutations ----------

BAD_TIMES = ["2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "2026-01-01T24:00:00Z",
             "2026-01-01T23:59:60Z", "2026-01-01T10:00:00", "2026-01-01 10:00:00Z",
             "2026-01-01T10:00:00+05:00", "2026-01-01T10:00:00-23:59", "2026-01-01T10:00:00.123456789Z",
             "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
             "-2026-01-01T00:00:00Z", "2026-1-1T1:0:0Z", "", "now", "2026-01-01", "T10:00:00Z",
             "2026-01-01T10:00:00.Z", "2026-01-01T10:00:00,5Z", "2026-01-01t10:00:00z",
             "99999-01-01T00:00:00Z", "2026-01-01T10:00:00.000001Z", "2100-02-29T00:00:00Z",
             "2024-02-29T12:00:00Z"]
HUGE_NUMBERS = ["1e400", "-1e400", "1e-400", "99999999999999999999999999.99",
                "9223372036854775807", "9223372036854775808", "-9223372036854775809",
                "0.000000000000000000001", "1E5", "-0", "0.1234567", "123.456", "00012",
                "1_000", "+5", ".5", "5.", "NaN", "Infinity", "-Infinity", "0x1F",
                "92233720368547758.07", "9223372036854775.807", "1" * 400]
WRONG_VALUES = ['null', 'true', 'false', '[]', '{}', '[1,2]', '{"a":1}', '""', '"x"', '0', '-1',
                '1.5', '"1.5"', '"true"', '"2026-01-01"', '"\\u0000"', '"\\ud800"', '"\\udc00x"',
                '"😀"', '"' + "A" * 5000 + '"']


def set_raw(line, key, raw):
    """The record with `key` set to the raw JSON text, replacing any value it had."""
    pat = re.compile(r'("' + re.escape(key) + r'"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\]]*)')
    if pat.search(line):
        return pat.sub(lambda m: m.group(1) + raw, line, count=1)
    return line.rstrip().rstrip("}") + f',"{key}":{raw}}}'


def keys_of(line):
    return re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', line)


def mutate_record(line, rng, seeds):
    """A mutated record as bytes (no newline); `line` is a seed record as str."""
    op = rng.randrange(18)
    keys = keys_of(line) or ["type"]
    key = rng.choice(keys)
    if op == 0:
        b = bytearray(line.encode("utf-8"))
        for _ in range(rng.randint(1, 5)):
            pos = rng.randrange(len(b) + 1)
            byte = rng.randrange(256)
            # Keep the record on one line: the fuzzer counts lines by \n only.
            if byte in (10, 13):
                byte = 32
            b[pos:pos] = bytes([byte])
        return bytes(b)
    if op == 1:
        return line.encode("utf-8")[:rng.randrange(len(line) + 1)]
    if op == 2:
        return set_raw(line, key, rng.choice(WRONG_VALUES)).encode("utf-8")
    if op == 3:
        k = rng.choice(["amount", "volume", "lots", "balance"] + keys)
        n = rng.choice(HUGE_NUMBERS)
        raw = n if rng.random() < 0.5 and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", n) else json.dumps(n)
        return set_raw(line, k, raw).encode("utf-8")
    if op == 4:
        depth = rng.choice([10, 100, 1000, 100000])
        nest = rng.choice(["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth])
        return set_raw(line, rng.choice(keys + ["extra"]), nest).encode("utf-8")
    if op == 5:
        bad = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf",
                          b"\xe2\x82", b"\x80", b"\xfe\xff"])
        b = line.encode("utf-8")
        # Put the bad bytes inside a string value when there is one.
        quotes = [m.start() for m in re.finditer(rb'"', b)]
        pos = rng.choice(quotes) + 1 if quotes else rng.randrange(len(b) + 1)
        return b[:pos] + bad + b[pos:]
    if op == 6:
        val = rng.choice(WRONG_VALUES + ['"' + rng.choice(["deposit", "trade", "tick", "profile"]) + '"'])
        return (line.rstrip().rstrip("}") + f',"{key}":{val}}}').encode("utf-8")
    if op == 7:
        return set_raw(line, "time", json.dumps(rng.choice(BAD_TIMES))).encode("utf-8")
    if op == 8:
        # Drop a key.
        pat = re.compile(r'"' + re.escape(key) + r'"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}]*)\s*,?')
        return pat.sub("", line, count=1).encode("utf-8")
    if op == 9:
        return rng.choice([b"{}", b"[]", b"null", b"1", b'"x"', b"{", b"}", b"{{}}", b"\x00",
                           b"\xef\xbb\xbf" + line.encode("utf-8"), b"   \t ", b"{\"type\":null}",
                           b'{"type":"tick"}', b'{"type":"tick","time":"1970-01-01T00:00:00Z"}',
                           b'{"type":"profile","time":"2026-01-01T00:00:00Z"}',
                           b'{"type":"profile","client":"","time":"2026-01-01T00:00:00Z"}'])
    if op == 10:
        return (line + "\r").encode("utf-8")
    if op == 11:
        # Another record's type with this record's fields.
        other = rng.choice(seeds)
        m = re.search(r'"type"\s*:\s*"([^"]*)"', other)
        return set_raw(line, "type", json.dumps(m.group(1) if m else "tick")).encode("utf-8")
    if op == 12:
        return set_raw(line, "id", rng.choice(['""', '1', 'null', '"' + "i" * 10000 + '"',
                                               '"d1"', '"\\u0000"'])).encode("utf-8")
    if op == 13:
        return set_raw(line, "client", rng.choice(['""', '1', 'null', '"c1"', '"Анна"',
                                                   '"' + "c" * 10000 + '"'])).encode("utf-8")
    if op == 14:
        # A very long line of padding spaces and an unknown key.
        return (line.rstrip().rstrip("}") + ',"pad":"' + "x" * rng.choice([1000, 100000, 2000000]) + '"}').encode()
    if op == 15:
        return line.encode("utf-8") + rng.choice([b" trailing", b"{}", b",", b" ", b"\x00"])
    if op == 16 and rng.random() < 0.03:
        # Times far in the future move the clock (many day ticks) and put the rest out of order.
        when = rng.choice(["2027-01-01T00:00:00Z", "2030-06-30T12:00:00Z", "2100-01-01T00:00:00Z",
                           "9999-12-31T23:59:59Z"])
        return set_raw(line, "time", f'"{when}"').encode("utf-8")
    return set_raw(line, key, json.dumps(rng.choice(LITERALS + UNICODE))).encode("utf-8")


def shifted(line, rounds, span):
    """The seed record moved `rounds` spans of days later, with a fresh id, so a long batch stays in order."""
    if rounds == 0:
        return line
    try:
        r = json.loads(line)
        t = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, KeyError, TypeError):
        return line
    r["time"] = (t + datetime.timedelta(days=span * rounds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(r.get("id"), str):
        r["id"] = f"{r['id']}~{rounds}"
    return json.dumps(r, ensure_ascii=False, separators=(",", ":"))


def seed_span_days(seed_lines):
    days = []
    for line in seed_lines:
        m = re.search(r'"time"\s*:\s*"(\d{4}-\d{2}-\d{2})', line)
        if m:
            try:
                days.append(datetime.date.fromisoformat(m.group(1)))
            except ValueError:
                pass  # seeds may hold bad dates on purpose
    return (max(days) - min(days)).days + 1 if days else 1


def make_batch(seed_lines, rng, size):
    """Seed records in order from a random start (later rounds shifted in time), some mutated."""
    out = []
    span = seed_span_days(seed_lines)
    start = rng.randrange(len(seed_lines))
    for k in range(size):
        rounds, idx = divmod(start + k, len(seed_lines))
        # Now and then an earlier record again: a duplicate, or out of order.
        if rng.random() < 0.05:
            line = shifted(seed_lines[rng.randrange(idx + 1)], rounds, span)
        else:
            line = shifted(seed_lines[idx], rounds, span)
        r = rng.random()
        if r < 0.6:
            out.append(line.encode("utf-8"))
        elif r < 0.63:
            out.append(b"")
        else:
            out.append(mutate_record(line, rng, seed_lines))
    return b"\n".join(out) + (b"\n" if rng.random() < 0.9 else b"")


# ---------- running ----------

class Fuzzer:
    def __init__(self, perk, engine, rng, tmp):
        self.perk = perk
        self.engine = engine
        self.rng = rng
        self.tmp = tmp
        self.failures = 0
        self.programs = 0
        self.batches = 0

    def save(self, kind, files, note):
        os.makedirs(CRASH_DIR, exist_ok=True)
        digest = hashlib.sha1(b"".join(data for _, data in files)).hexdigest()[:12]
        base = os.path.join(CRASH_DIR, f"{kind}-{digest}")
        for suffix, data in files:
            with open(base + suffix, "wb") as f:
                f.write(data)
        with open(base + ".txt", "w", encoding="utf-8", errors="replace") as f:
            f.write(note)
        return base

    def fail(self, kind, files, cmd, why, stderr=""):
        self.failures += 1
        note = f"{why}\ncommand: {' '.join(cmd)}\n--- stderr (tail) ---\n{stderr[-4000:]}\n"
        base = self.save(kind, files, note)
        print(f"FAIL {kind}: {why} -> {os.path.relpath(base, ROOT)}.*", flush=True)

    def check_program(self, text):
        self.programs += 1
        path = os.path.join(self.tmp, "fuzz.perk")
        data = text.encode("utf-8", errors="surrogatepass")
        with open(path, "wb") as f:
            f.write(data)
        cmd = [self.perk, "check", path]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=CHECK_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("program", [(".perk", data)], cmd, f"timeout after {CHECK_TIMEOUT} s")
            return
        err = p.stderr.decode("utf-8", errors="replace")
        why = None
        if p.returncode < 0:
            why = f"killed by signal {-p.returncode}"
        elif p.returncode not in (0, 1):
            why = f"exit code {p.returncode}"
        elif SANITIZER_RE.search(err):
            why = "sanitizer or runtime failure report"
        elif p.returncode == 1 and not re.search(r"\berror:", err):
            why = "exit 1 without an `error:` diagnostic"
        elif p.returncode == 0 and re.search(r":\d+:\d+: error:", err):
            why = "exit 0 with an error diagnostic"
        if why:
            self.fail("program", [(".perk", data)], cmd, why, err)

    def run_batch(self, program, data):
        self.batches += 1
        events = os.path.join(self.tmp, "events.jsonl")
        ledger = os.path.join(self.tmp, "ledger.jsonl")
        rejects = os.path.join(self.tmp, "rejects.jsonl")
        for f in (ledger, rejects):
            if os.path.exists(f):
                os.remove(f)
        with open(events, "wb") as f:
            f.write(data)
        cmd = [self.perk, "run", program, "--events", events, "--rejects", rejects,
               "--ledger", ledger, "--engine", self.engine]
        files = [(".jsonl", data), (".program.perk", read_bytes(program))]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("records", files, cmd, f"timeout after {RUN_TIMEOUT} s")
            return
        err = p.stderr.decode("utf-8", errors="replace")
        why = None
        if p.returncode < 0:
            why = f"killed by signal {-p.returncode}"
        elif p.returncode != 0:
            why = f"exit code {p.returncode}"
        elif SANITIZER_RE.search(err):
            why = "sanitizer or runtime failure report"
        else:
            why = self.validate_outputs(data, ledger, rejects)
        if why:
            self.fail("records", files, cmd, why, err)

    @staticmethod
    def validate_outputs(data, ledger, rejects):
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        nonblank = {i + 1 for i, l in enumerate(lines) if l.strip(b" \t\r")}
        seen = set()
        if os.path.exists(rejects):
            for n, raw in enumerate(read_bytes(rejects).split(b"\n"), 1):
                if not raw.strip():
                    continue
                try:
                    r = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    return f"rejects line {n} is not UTF-8 JSON: {e}"
                if not isinstance(r, dict):
                    return f"rejects line {n} is not an object"
                if not isinstance(r.get("error"), str) or not r["error"].strip():
                    return f"rejects line {n} has no error message: {raw[:300]!r}"
                line = r.get("line")
                if not isinstance(line, int) or isinstance(line, bool):
                    return f"rejects line {n} has no integer line: {raw[:300]!r}"
                if line not in nonblank:
                    return (f"rejects line {n} names input line {line}, which is blank or outside "
                            f"1..{len(lines)}")
                if line in seen:
                    return f"input line {line} rejected twice"
                seen.add(line)
        if os.path.exists(ledger):
            seq = 0
            for n, raw in enumerate(read_bytes(ledger).split(b"\n"), 1):
                if not raw.strip():
                    continue
                try:
                    e = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as ex:
                    return f"ledger line {n} is not UTF-8 JSON: {ex}"
                seq += 1
                if not isinstance(e, dict) or e.get("seq") != seq:
                    return f"ledger line {n} should have seq {seq}: {raw[:300]!r}"
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", default="interp")
    ap.add_argument("--batch-lines", type=int, default=120)
    ap.add_argument("--only", choices=["programs", "records"], help="fuzz one input kind only")
    a = ap.parse_args()
    perk = os.path.abspath(a.perk)
    if not os.access(perk, os.X_OK):
        print(f"fuzz_inputs: {perk} is not an executable; build it first (scripts/build)")
        return 2

    rng = random.Random(a.seed)
    cases = seed_cases()
    programs = []
    for prog, _ in cases:
        with open(prog, encoding="utf-8", errors="replace") as f:
            programs.append(f.read())
    if not programs:
        print("fuzz_inputs: no seed programs found")
        return 2

    tmp = tempfile.mkdtemp(prefix="perk-fuzz-")
    try:
        fz = Fuzzer(perk, a.engine, rng, tmp)
        # Record seeds: programs that load, with their own events; bench/forex.perk gets generated ones.
        record_seeds = []
        for prog, events in cases:
            if subprocess.run([perk, "check", prog], capture_output=True, timeout=CHECK_TIMEOUT).returncode != 0:
                continue
            if events is None and os.path.basename(prog) == "forex.perk":
                events = os.path.join(tmp, "forex_events.jsonl")
                subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_events.py"),
                                "--records", "400", "--clients", "20", "--days", "5",
                                "--seed", str(a.seed), "--out", events], check=True)
            if events:
                with open(events, encoding="utf-8") as f:
                    lines = [l.rstrip("\n") for l in f if l.strip()]
                if lines:
                    record_seeds.append((prog, lines))
        if not record_seeds:
            print("fuzz_inputs: no seed program passes `perk check`; fuzzing programs only")

        deadline = time.monotonic() + a.seconds
        i = 0
        while time.monotonic() < deadline:
            i += 1
            if a.only == "programs":
                do_records = False
            elif a.only == "records":
                do_records = bool(record_seeds)
                if not do_records:
                    print("fuzz_inputs: --only records, but no seed program passes `perk check`")
                    return 2
            else:
                do_records = bool(record_seeds) and i % 6 == 0
            if do_records:
                prog, lines = rng.choice(record_seeds)
                size = rng.randint(1, a.batch_lines)
                fz.run_batch(prog, make_batch(lines, rng, size))
            else:
                fz.check_program(mutate_program(rng.choice(programs), rng))
        print(f"{fz.programs} programs, {fz.batches} record batches, {fz.failures} failures")
        return 1 if fz.failures else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
