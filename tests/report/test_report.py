#!/usr/bin/env python3
"""Browser tests of the report pages of `perk run --report` and `perk diff --report`.

usage: test_report.py --perk PATH [--engine interp[,jit]] [--chromium PATH] [--out DIR]

For each engine it runs tests/report/program.perk over a generated history, opens the page in
headless Chromium (--dump-dom) and checks what the browser sees against figures recomputed
here, in Python, from the ledger, the rejects and the input: the summary, every rule's row,
the per-day chart series, tiers and segments at the end, the top clients. A copy of the page
with a small probe script is loaded at phone width to check that nothing overflows the
screen sideways and that every chart is drawn. Screenshots (desktop and phone) are kept in
DIR (default build/report-test) as artefacts. Then `perk diff` of program.perk against
program_v2.perk is checked against two separate `perk run`s of the versions. Last, the cost and
return figures (C12: `worth`, `revenue`) of examples/forex_roi are checked against figures
recomputed here from its program's declarations, its events and the ledger; then those of
examples/forex_chargeback and examples/referral_two_sided, with reversals and sends (C9, C10).

Prints `ok NAME` / `FAIL NAME: why` per check, then `N passed, N failed`; exits 1 on any failure.
"""
import argparse
import collections
import datetime
import decimal
import html.parser
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

# The JIT's object cache goes to a temporary directory, never the user's cache (docs/jit.md).
if "PERK_JIT_CACHE" not in os.environ:
    import atexit, shutil, tempfile
    os.environ["PERK_JIT_CACHE"] = tempfile.mkdtemp(prefix="perk-test-jit-")
    atexit.register(shutil.rmtree, os.environ["PERK_JIT_CACHE"], True)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 120


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            self.passed += 1
            print(f"ok {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {why}")
        return ok

    def equal(self, name, got, want):
        return self.check(name, got == want, f"page shows {got!r}, recomputed {want!r}")


# ---- the input ----

def generate_events(path, seed=11):
    """A deterministic history: 40 clients over 25 days, with a few bad lines among them."""
    rng = random.Random(seed)
    lines = []
    day0 = 1  # 2026-04-01
    clients = [f"k{n:02d}" for n in range(40)]
    seen = set()
    serial = 0
    for day in range(day0, day0 + 25):
        for hour in range(8, 22):
            picked = rng.sample(clients, rng.randint(0, 5))
            minutes = sorted(rng.randint(0, 59) for _ in picked)
            for client, minute in zip(picked, minutes):
                time = f"2026-04-{day:02d}T{hour:02d}:{minute:02d}:00Z"
                if client not in seen:
                    seen.add(client)
                    birth = f"19{rng.randint(60, 99)}-04-{rng.randint(1, 26):02d}"
                    lines.append({"type": "profile", "client": client, "time": time, "birthdate": birth})
                serial += 1
                if rng.random() < 0.15:
                    lines.append({"type": "redeem", "id": f"r{serial}", "client": client, "time": time,
                                  "points": rng.choice([20, 50, 100, 400])})
                else:
                    amount = rng.choice(["12.50", "45.00", "60.00", "89.99", "150.00", "320.00", "700.00"])
                    event = {"type": "purchase", "id": f"p{serial}", "client": client, "time": time, "amount": amount}
                    if rng.random() < 0.3:
                        event["channel"] = "app"
                    lines.append(event)
    text = [json.dumps(e, separators=(",", ":")) for e in lines]
    # Bad lines, each a different reason, and a duplicate id.
    text.insert(30, '{"type":"purchase","id":"bad1","client":"k01","time":"2026-04-01T20:00:00Z","amount":"10.001"}')
    text.insert(60, '{"type":"purchase","id":"bad2","client":"k02","time":"2026-04-02T23:00:00Z","amount":"1.005"}')
    text.insert(90, '{"type":"purchase","id":"bad3","client":"k03","time":"2026-04-01T00:00:00Z","amount":"10.00"}')
    text.insert(120, '{"type": "purchase",')
    text.insert(150, text[149])
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")


# ---- figures recomputed from the ledger ----

def read_jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def cents(text):
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac + "00")[:2]))


def recompute(events_path, ledger, rejects, tiers, segments):
    """What the page must say, from the ledger, the rejects and the input alone."""
    f = collections.defaultdict(int)
    rejected = {r["line"] for r in rejects}
    first_day = {}
    ids = set()
    with open(events_path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip() or number in rejected:
                continue
            rec = json.loads(line)
            if rec.get("id") in ids:
                continue  # a duplicate: skipped, never a reject
            if "id" in rec:
                ids.add(rec["id"])
            if rec.get("client") and rec["client"] not in first_day:
                first_day[rec["client"]] = rec["time"][:10]
    rules = collections.defaultdict(lambda: collections.defaultdict(int))
    rule_clients = collections.defaultdict(set)
    money_per_day = collections.defaultdict(int)
    rule_money_per_day = collections.defaultdict(int)
    participants = set()
    client = collections.defaultdict(lambda: collections.defaultdict(int))
    tier_of = {}
    member = collections.defaultdict(dict)
    for e in ledger:
        day = e["time"][:10]
        action = e["action"]
        if action == "tier":
            tier_of[e["client"]] = e["to"]
            continue
        if action == "segment":
            member[e["segment"]][e["client"]] = e["member"]
            continue
        rule = e["rule"]
        if action == "skip":
            f["budget_skips"] += 1
            rules[rule]["skips"] += 1
            continue
        f["effects"] += 1
        rules[rule]["effects"] += 1
        if "reverses" not in e:  # a reversal's counter-entry makes no participant, no client of its rule
            rule_clients[rule].add(e["client"])
            participants.add(e["client"])
        client[e["client"]]["effects"] += 1
        if action in ("credit", "debit"):
            money = isinstance(e["amount"], str)
            amount = cents(e["amount"]) if money else e["amount"]
            if action == "credit" and money:
                f["money_credited"] += amount
                rules[rule]["money_credited"] += amount
                money_per_day[day] += amount
                rule_money_per_day[(rule, day)] += amount
                client[e["client"]]["money_credited"] += amount
            elif action == "credit":
                f["points_issued"] += amount
                rules[rule]["points_issued"] += amount
                client[e["client"]]["points_issued"] += amount
            elif not money:
                f["points_redeemed"] += amount
                rules[rule]["points_redeemed"] += amount
    for rule, cs in rule_clients.items():
        rules[rule]["clients"] = len(cs)
    f["participants"] = len(participants)
    f["active_clients"] = len(first_day)
    f["rejects"] = len(rejects)
    f["participation_bp"] = (len(participants) * 20000 + len(first_day)) // (2 * len(first_day)) if first_day else 0
    f["records"] = None  # not recomputed: the engine's count
    tier_end = collections.Counter(tier_of.get(c, tiers[0]) for c in first_day)
    segment_end = {s: sum(1 for v in member[s].values() if v) for s in segments}
    top = sorted(client.items(), key=lambda kv: (-kv[1]["money_credited"], -kv[1]["points_issued"], kv[0]))[:20]
    return {"kpi": f, "rules": rules, "money_per_day": money_per_day, "rule_money_per_day": rule_money_per_day,
            "tier_end": {t: tier_end.get(t, 0) for t in tiers}, "segment_end": segment_end,
            "top": [c for c, _ in top], "tier_of": tier_of, "known": set(first_day)}


# ---- what the browser shows ----

class Dom(html.parser.HTMLParser):
    """Collects every element with data-k / data-v or data-series, with its ancestors' data-* context."""
    VOID = {"meta", "br", "img", "hr", "input", "link", "col", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.values = []  # (context dict, attrs dict)
        self.series = collections.defaultdict(list)  # chart id -> [(name, values)]
        self.body = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        ctx = dict(self.stack[-1][1]) if self.stack else {}
        for k, v in a.items():
            if k.startswith("data-") and k not in ("data-v", "data-values"):
                ctx[k] = v
        if tag == "section" and "id" in a:
            ctx["section"] = a["id"]
        if tag == "body":
            self.body = a
        if "data-v" in a:
            self.values.append((ctx, a))
        if "data-series" in a and "data-chart" in ctx:
            vals = [int(v) for v in a.get("data-values", "").split()]
            self.series[ctx["data-chart"]].append((a["data-series"], vals))
        if tag not in self.VOID:
            self.stack.append((tag, ctx))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def find(self, **want):
        """data-v values of elements whose context has all of `want` (keys with _ for -)."""
        out = []
        for ctx, a in self.values:
            merged = dict(ctx)
            if "data-k" in a:
                merged["data-k"] = a["data-k"]
            if all(merged.get("data-" + k.replace("_", "-") if k != "section" else "section") == v
                   for k, v in want.items()):
                out.append(int(a["data-v"]))
        return out

    def one(self, **want):
        got = self.find(**want)
        return got[0] if len(got) == 1 else ("missing" if not got else f"{len(got)} matches")


def find_chromium(given):
    for name in [given] if given else ["chromium", "chromium-browser", "google-chrome"]:
        path = shutil.which(name) if name else None
        if path:
            return path
    return None


def chromium(browser, args, timeout=TIMEOUT):
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
            "--no-first-run", "--disable-extensions", "--user-data-dir=" + tempfile.mkdtemp(prefix="perk-chromium-")]
    p = subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)
    return p


def dump_dom(browser, page, width=1280, height=900):
    p = chromium(browser, [f"--window-size={width},{height}", "--dump-dom", "file://" + os.path.abspath(page)])
    dom = Dom()
    dom.feed(p.stdout)
    return dom, p


PROBE = """<script>
(function () {
  var d = document.documentElement, svgs = document.querySelectorAll('svg'), drawn = 0, marks = 0;
  svgs.forEach(function (s) {
    var r = s.getBoundingClientRect();
    if (r.width > 100 && r.height > 30) drawn++;
    marks += s.querySelectorAll('rect, polyline, polygon, circle').length;
  });
  document.body.setAttribute('data-probe', JSON.stringify({
    scrollWidth: d.scrollWidth, innerWidth: window.innerWidth, svgs: svgs.length, drawn: drawn, marks: marks}));
})();
</script></body>"""


def probe_layout(browser, page, width, tmp):
    """Loads a copy of the page with the probe script at `width`; returns the probe's figures."""
    with open(page) as f:
        text = f.read()
    probe_page = os.path.join(tmp, f"probe_{width}.html")
    with open(probe_page, "w") as f:
        f.write(text.replace("</body>", PROBE, 1))
    dom, p = dump_dom(browser, probe_page, width, 900)
    raw = dom.body.get("data-probe")
    return json.loads(raw) if raw else None


def screenshot(browser, page, out, width, height):
    if os.path.exists(out):
        os.remove(out)
    chromium(browser, [f"--window-size={width},{height}", f"--screenshot={out}", "file://" + os.path.abspath(page)])
    if not os.path.exists(out):
        return False
    with open(out, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(out) > 10_000


# ---- the cases ----

def run_perk(perk, args):
    return subprocess.run([perk] + args, capture_output=True, text=True, timeout=TIMEOUT)


def check_run(checks, perk, engine, browser, out, tmp, events):
    tag = f"[{engine}]"
    program = os.path.join(HERE, "program.perk")
    ledger, rejects, page = (os.path.join(tmp, f"run_{engine}.{x}") for x in ("jsonl", "rejects", "html"))
    p = run_perk(perk, ["run", program, "--events", events, "--engine", engine, "--ledger", ledger,
                        "--rejects", rejects, "--report", page])
    if not checks.check(f"run{tag} exits 0", p.returncode == 0, p.stderr[-2000:]):
        return
    checks.check(f"run{tag} stderr has no progress line when not a terminal",
                 "\r" not in p.stderr and "\x1b" not in p.stderr, repr(p.stderr[:200]))
    with open(page) as f:
        text = f.read()
    checks.check(f"run{tag} page is self-contained",
                 "<script" not in text and "http://" not in text and "https://" not in text and "src=" not in text,
                 "found a script or an external reference")
    want = recompute(events, read_jsonl(ledger), read_jsonl(rejects), ["Member", "Silver", "Gold"], ["regulars"])
    checks.check(f"run{tag} fixture exercises every figure",
                 all(want["kpi"][k] > 0 for k in ("money_credited", "points_issued", "points_redeemed", "budget_skips",
                                                   "rejects")) and want["tier_end"]["Gold"] > 0,
                 f"the generated history is too tame: {dict(want['kpi'])}, {want['tier_end']}")

    dom, p = dump_dom(browser, page)
    if not checks.check(f"run{tag} chromium loads the page", p.returncode == 0 and dom.values,
                        f"exit {p.returncode}: {p.stderr[-1000:]}"):
        return
    for key in ("money_credited", "points_issued", "points_redeemed", "effects", "participants", "active_clients",
                "participation_bp", "budget_skips", "rejects"):
        checks.equal(f"run{tag} summary {key}", dom.one(section="summary", k=key), want["kpi"][key])
    for name, figures in sorted(want["rules"].items()):
        for key in ("effects", "clients", "money_credited", "points_issued", "points_redeemed", "skips"):
            checks.equal(f"run{tag} rule {name} {key}", dom.one(section="rules", rule=name, k=key), figures[key])
    checks.equal(f"run{tag} budget use of cashback_rule is shown",
                 len(dom.find(section="budgets", rule="cashback_rule", k="budget_use_bp")), 1)

    # Charts: present, and their series add up to the ledger's figures day by day.
    for chart in ("money-per-day", "effects-per-day", "points-per-day", "participation", "clients-with-effects",
                  "new-clients", "tiers", "tier-moves", "segments"):
        checks.check(f"run{tag} chart {chart} present", chart in dom.series, f"charts: {sorted(dom.series)}")
    money = dom.series.get("money-per-day", [])
    if money:
        totals = [sum(v[i] for _, v in money) for i in range(len(money[0][1]))]
        # One bucket per calendar day here: the history is far shorter than the bucketing threshold.
        dates = sorted(set(e["time"][:10] for e in read_jsonl(ledger)))
        first, last = (datetime.date.fromisoformat(d) for d in (dates[0], dates[-1]))
        all_days = [(first + datetime.timedelta(days=k)).isoformat() for k in range((last - first).days + 1)]
        checks.equal(f"run{tag} money chart per day", totals, [want["money_per_day"].get(d, 0) for d in all_days])
        for name, values in money:
            if name in want["rules"]:
                checks.equal(f"run{tag} money chart series {name}", values,
                             [want["rule_money_per_day"].get((name, d), 0) for d in all_days])
    tiers = dict(dom.series.get("tiers", []))
    for t, n in want["tier_end"].items():
        checks.equal(f"run{tag} tier {t} at the end (table)", dom.one(section="tiers", tier=t, k="end"), n)
        checks.equal(f"run{tag} tier {t} at the end (chart)", tiers.get(t, [None])[-1], n)
    for s, n in want["segment_end"].items():
        checks.equal(f"run{tag} segment {s} size at the end", dom.one(section="segments", segment=s, k="size"), n)
    top = []
    for ctx, a in dom.values:
        if ctx.get("section") == "top-clients" and a.get("data-k") == "money_credited":
            top.append(ctx.get("data-client"))
    checks.equal(f"run{tag} top clients by value", top, want["top"])
    reasons = dom.find(section="rejects", k="count")
    checks.check(f"run{tag} rejects by reason add up", sum(reasons) == want["kpi"]["rejects"] and len(reasons) >= 3,
                 f"reasons {reasons}, rejects {want['kpi']['rejects']}")

    # [issue 22] The worst case the page shows is `perk analyze`'s, bound by bound.
    a = run_perk(perk, ["analyze", program, "--json"])
    if checks.check(f"run{tag} perk analyze --json runs", a.returncode in (0, 1) and a.stdout.startswith("{"),
                    a.stderr[-1000:]):
        analysis = json.loads(a.stdout)

        def raw(b):
            if b["state"] != "bounded":
                return -1 if b["state"] == "unbounded" else -2
            amount = b["amount"]
            return amount if isinstance(amount, int) else int(decimal.Decimal(amount) * 100)

        checks.check(f"run{tag} worst case lists rules", len(analysis["payouts"]) >= 2, f"{analysis['payouts']}")
        for p_ in analysis["payouts"]:
            for key in ("per_firing", "per_client", "campaign"):
                checks.equal(f"run{tag} worst case {p_['rule']} {p_['wallet']} {key}",
                             dom.one(section="worst-case", rule=p_["rule"], wallet=p_["wallet"], k=key), raw(p_[key]))

    # Readable on a phone: nothing wider than the screen, every chart drawn.
    for width in (390, 1280):
        probe = probe_layout(browser, page, width, tmp)
        if not checks.check(f"run{tag} layout probe at {width}px ran", probe is not None, "no data-probe on <body>"):
            continue
        checks.check(f"run{tag} no sideways scrolling at {width}px", probe["scrollWidth"] <= probe["innerWidth"],
                     f"page is {probe['scrollWidth']}px wide in a {probe['innerWidth']}px window")
        checks.check(f"run{tag} every chart drawn at {width}px", probe["drawn"] == probe["svgs"] > 0 and probe["marks"] > 0,
                     f"{probe}")
    checks.check(f"run{tag} desktop screenshot", screenshot(browser, page, os.path.join(out, f"report-{engine}-desktop.png"),
                                                           1280, 6000), "no PNG written")
    checks.check(f"run{tag} phone screenshot", screenshot(browser, page, os.path.join(out, f"report-{engine}-phone.png"),
                                                         390, 9000), "no PNG written")
    shutil.copy(page, os.path.join(out, f"report-{engine}.html"))


def check_diff(checks, perk, engine, browser, out, tmp, events):
    tag = f"[{engine}]"
    old, new = os.path.join(HERE, "program.perk"), os.path.join(HERE, "program_v2.perk")
    page = os.path.join(tmp, f"diff_{engine}.html")
    p = run_perk(perk, ["diff", old, new, "--events", events, "--engine", engine, "--report", page])
    if not checks.check(f"diff{tag} exits 0", p.returncode == 0, p.stderr[-2000:]):
        return
    # The two versions run on their own: the diff must agree with them.
    runs = {}
    for name, prog in (("old", old), ("new", new)):
        ledger, rejects = os.path.join(tmp, f"diff_{name}.jsonl"), os.path.join(tmp, f"diff_{name}.rejects")
        r = run_perk(perk, ["run", prog, "--events", events, "--engine", engine, "--ledger", ledger, "--rejects", rejects])
        checks.check(f"diff{tag} separate run of {name}", r.returncode == 0, r.stderr[-1000:])
        runs[name] = recompute(events, read_jsonl(ledger), read_jsonl(rejects), ["Member", "Silver", "Gold"], ["regulars"])
    text = p.stdout
    o, n = runs["old"]["kpi"], runs["new"]["kpi"]
    money = lambda c: f"{c // 100:,}.{c % 100:02d}"
    line = next((l for l in text.splitlines() if l.startswith("money credited")), "")
    checks.check(f"diff{tag} text summary money", money(o["money_credited"]) in line and money(n["money_credited"]) in line,
                 f"line {line!r}, want {money(o['money_credited'])} and {money(n['money_credited'])}")
    checks.check(f"diff{tag} text names the new rule", any(l.startswith("welcome") and "(new rule)" in l
                                                          for l in text.splitlines()), text)

    dom, p = dump_dom(browser, page)
    if not checks.check(f"diff{tag} chromium loads the page", p.returncode == 0 and dom.values, p.stderr[-1000:]):
        return
    for key in ("money_credited", "points_issued", "points_redeemed", "effects", "participants"):
        checks.equal(f"diff{tag} summary {key} old", dom.one(section="summary", figure=key, k="old"), o[key])
        checks.equal(f"diff{tag} summary {key} new", dom.one(section="summary", figure=key, k="new"), n[key])
    rules = set(runs["old"]["rules"]) | set(runs["new"]["rules"])
    for rule in sorted(rules):
        for side in ("old", "new"):
            r = runs[side]["rules"].get(rule, {})
            checks.equal(f"diff{tag} rule {rule} cost {side}", dom.one(section="rules", rule=rule, k=f"cost_{side}"),
                         r.get("money_credited", 0))
            checks.equal(f"diff{tag} rule {rule} clients {side}", dom.one(section="rules", rule=rule, k=f"clients_{side}"),
                         r.get("clients", 0))
    gained, lost = dom.one(section="effects", k="gained"), dom.one(section="effects", k="lost")
    changed, same = dom.one(section="effects", k="changed"), dom.one(section="effects", k="same")
    # Every effect of each version is counted once: matched (same or changed), or gained / lost.
    entries = {s: len(read_jsonl(os.path.join(tmp, f"diff_{s}.jsonl"))) for s in ("old", "new")}
    checks.equal(f"diff{tag} old entries = same + changed + lost", same + changed + lost, entries["old"])
    checks.equal(f"diff{tag} new entries = same + changed + gained", same + changed + gained, entries["new"])
    checks.equal(f"diff{tag} welcome effects all gained", dom.one(section="rules", rule="welcome", k="gained"),
                 runs["new"]["rules"]["welcome"]["effects"])
    differs = sum(1 for c in runs["old"]["known"] & runs["new"]["known"]
                  if runs["old"]["tier_of"].get(c, "Member") != runs["new"]["tier_of"].get(c, "Member"))
    checks.check(f"diff{tag} some tiers differ", differs > 0, "the easier Silver should move someone")
    checks.equal(f"diff{tag} clients whose tier differs", dom.one(section="tiers", k="tier_differs"), differs)
    checks.check(f"diff{tag} chart present", "money-per-day" in dom.series, f"{sorted(dom.series)}")
    checks.check(f"diff{tag} screenshot", screenshot(browser, page, os.path.join(out, f"diff-{engine}.png"), 1280, 4000),
                 "no PNG written")


# ---- cost and return (C12) ----

def half_away(num, den):
    """num / den rounded half away from zero, in integers."""
    q = (2 * abs(num) + den) // (2 * den)
    return q if num >= 0 else -q


def recompute_value(program_path, events_path, ledger, rejected=()):
    """The cost and return figures from the program's declarations, the input and the ledger.
    A reversal's counter-entries net into cost but make no participant and no client of their
    rule; a reversed event's revenue leaves every figure; sent events bring none."""
    import re
    text = open(program_path).read()
    wallets = {}  # name -> ("money", None) | ("int", cents per point or None)
    for m in re.finditer(r"^wallet (\w+): (int|money)(?: worth ([\d.]+) \w+)?", text, re.M):
        wallets[m.group(1)] = (m.group(2), cents(m.group(3)) if m.group(3) else None)
    m = re.search(r"^revenue (\w+)\.(\w+)(?: where not \1\.(\w+))?\s*$", text, re.M)
    rev_event, rev_field, rev_unless = m.group(1), m.group(2), m.group(3)

    def cost_of(e):
        kind, worth = wallets[e["wallet"]]
        sign = -1 if e["action"] == "debit" else 1
        if kind == "money":
            return sign * cents(e["amount"]), 0
        return (sign * e["amount"] * worth, 0) if worth else (0, sign * e["amount"])

    # Accepted records in order (rejected lines and duplicates are skipped).
    records, ids = [], set()
    with open(events_path) as fh:
        for number, line in enumerate(fh, 1):
            if number in rejected:
                continue
            rec = json.loads(line)
            if "id" in rec:
                if rec["id"] in ids:
                    continue
                ids.add(rec["id"])
            records.append(rec)
    position = {r["id"]: k for k, r in enumerate(records) if "id" in r}

    zero = lambda: [0, 0]
    rule_cost, seg_cost, client_cost = (collections.defaultdict(zero) for _ in range(3))
    first_credit = {}  # (rule, client) -> position of the record that brought it
    members = collections.defaultdict(set)  # client -> segments now
    tier_of, active = {}, set()
    for e in ledger:
        if e["action"] == "segment":
            (members[e["client"]].add if e["member"] else members[e["client"]].discard)(e["segment"])
        elif e["action"] == "tier":
            tier_of[e["client"]] = e["to"]
        elif e["action"] in ("credit", "debit"):
            c, p = cost_of(e)
            for acc in (rule_cost[e["rule"]], client_cost[e["client"]]):
                acc[0] += c
                acc[1] += p
            for s in members[e["client"]]:
                seg_cost[s][0] += c
                seg_cost[s][1] += p
            active.add(e["client"])
            if e["action"] == "credit" and "reverses" not in e:
                assert not e["trigger"].startswith("day:"), "a day-tick credit: place it among the records"
                # A sent event's credit belongs to the input record that started its chain.
                first_credit.setdefault((e["rule"], e["client"]), position[e["trigger"].split("/")[0]])

    revenue = collections.defaultdict(int)
    rule_revenue = collections.defaultdict(int)
    total = events_with = reversed_with = 0
    counted = {}  # event id -> (its revenue, the rules that counted it)
    for k, r in enumerate(records):
        if r["type"] in ("profile", "tick"):
            continue
        active.add(r["client"])
        if r["type"] == "reversal":
            if r["of"] in counted:
                got, rules_counted = counted.pop(r["of"])
                revenue[r["client"]] -= got
                total -= got
                events_with -= 1
                reversed_with += 1
                for rule in rules_counted:
                    rule_revenue[rule] -= got
            continue
        if r["type"] != rev_event or (rev_unless and r.get(rev_unless, False)):
            continue
        got = cents(r.get(rev_field, "0"))
        revenue[r["client"]] += got
        total += got
        events_with += 1
        rules_counted = [rule for (rule, client), at in first_credit.items() if client == r["client"] and at <= k]
        for rule in rules_counted:
            rule_revenue[rule] += got
        counted[r["id"]] = (got, rules_counted)

    credited = {c for (_, c) in first_credit}
    def group(clients):
        g = {"clients": len(clients), "revenue": sum(revenue[c] for c in clients),
             "cost": sum(client_cost[c][0] for c in clients), "unpriced_points": sum(client_cost[c][1] for c in clients)}
        g["value"] = g["revenue"] - g["cost"]
        g["revenue_per_client"] = half_away(g["revenue"], len(clients)) if clients else 0
        g["value_per_client"] = half_away(g["value"], len(clients)) if clients else 0
        return g

    tiers = re.findall(r"^tier (\w+)", text, re.M)
    segments = re.findall(r"^segment (\w+)", text, re.M)
    out = {"total": total, "events": events_with, "reversed": reversed_with,
           "cost": sum(v[0] for v in rule_cost.values()), "unpriced": sum(v[1] for v in rule_cost.values()),
           "rules": {}, "segment_cost": {s: seg_cost[s] for s in segments},
           "participants": group(active & credited), "non-participants": group(active - credited),
           "tiers": {t: group({c for c in active if tier_of.get(c, tiers[0]) == t}) for t in tiers},
           "segments": {s: group({c for c in active if s in members[c]}) for s in segments}}
    out["segments"]["(no segment)"] = group({c for c in active if not members[c]})
    for rule in re.findall(r"^rule (\w+)", text, re.M):
        cost, unpriced = rule_cost[rule]
        roi = half_away((rule_revenue[rule] - cost) * 10000, cost) if cost > 0 and not unpriced else "missing"
        out["rules"][rule] = {"cost": cost, "unpriced_points": unpriced, "revenue": rule_revenue[rule], "roi_bp": roi,
                              "credited_clients": len({c for (r, c) in first_credit if r == rule})}
    return out


def check_value(checks, perk, engine, browser, tmp):
    """The cost and return figures of examples/forex_roi (`worth`, `revenue`) against recomputed ones."""
    tag = f"[{engine}]"
    folder = os.path.join(ROOT, "examples", "forex_roi")
    program, events = os.path.join(folder, "program.perk"), os.path.join(folder, "events.jsonl")
    ledger, page = os.path.join(tmp, f"roi_{engine}.jsonl"), os.path.join(tmp, f"roi_{engine}.html")
    p = run_perk(perk, ["run", program, "--events", events, "--engine", engine, "--ledger", ledger, "--report", page])
    if not checks.check(f"value{tag} run exits 0", p.returncode == 0, p.stderr[-2000:]):
        return
    want = recompute_value(program, events, read_jsonl(ledger))
    rules = want["rules"]
    checks.check(f"value{tag} fixture exercises every figure",
                 want["unpriced"] > 0 and any(r["cost"] < 0 for r in rules.values())
                 and any(isinstance(r["roi_bp"], int) for r in rules.values())
                 and want["non-participants"]["revenue"] > 0 and want["non-participants"]["clients"] > 1
                 and all(g["clients"] > 0 for g in want["tiers"].values()),
                 f"the example is too tame: {want}")
    dom, p = dump_dom(browser, page)
    if not checks.check(f"value{tag} chromium loads the page", p.returncode == 0 and dom.values, p.stderr[-1000:]):
        return
    for key, value in (("cost", want["cost"]), ("unpriced_points", want["unpriced"]), ("revenue", want["total"]),
                       ("value", want["total"] - want["cost"]), ("revenue_events", want["events"])):
        checks.equal(f"value{tag} kpi {key}", dom.one(section="value", table=None, k=key), value)
    for rule, figures in sorted(rules.items()):
        for key, value in figures.items():
            checks.equal(f"value{tag} rule {rule} {key}", dom.one(table="rule-value", rule=rule, k=key), value)
    for s, (cost, unpriced) in want["segment_cost"].items():
        checks.equal(f"value{tag} segment {s} cost", dom.one(table="segment-cost", segment=s, k="cost"), cost)
        checks.equal(f"value{tag} segment {s} unpriced points", dom.one(table="segment-cost", segment=s, k="unpriced_points"),
                     unpriced)
    groups = [("participation-value", "group", name, want[name]) for name in ("participants", "non-participants")]
    groups += [("clv-tier", "tier", t, g) for t, g in want["tiers"].items()]
    groups += [("clv-segment", "segment", s, g) for s, g in want["segments"].items()]
    for table, attr, name, g in groups:
        for key, value in g.items():
            checks.equal(f"value{tag} {table} {name} {key}", dom.one(table=table, **{attr: name}, k=key), value)
    # `perk diff` against a version that prices points higher and gives more of them: its
    # figures side by side must be those of two separate runs.
    variant = os.path.join(tmp, "roi_v2.perk")
    with open(program) as f:
        text = f.read()
    with open(variant, "w") as f:
        f.write(text.replace("worth 0.01 USD", "worth 0.02 USD").replace("trade.lots * 100", "trade.lots * 150"))
    diff_page = os.path.join(tmp, f"roi_diff_{engine}.html")
    p = run_perk(perk, ["diff", program, variant, "--events", events, "--engine", engine, "--report", diff_page])
    if checks.check(f"value{tag} diff exits 0", p.returncode == 0, p.stderr[-2000:]):
        v2_ledger = os.path.join(tmp, f"roi_v2_{engine}.jsonl")
        r = run_perk(perk, ["run", variant, "--events", events, "--engine", engine, "--ledger", v2_ledger])
        checks.check(f"value{tag} separate run of the variant", r.returncode == 0, r.stderr[-1000:])
        sides = {"old": want, "new": recompute_value(variant, events, read_jsonl(v2_ledger))}
        checks.check(f"value{tag} the variant costs more", sides["new"]["cost"] > sides["old"]["cost"], f"{sides}")
        ddom, p = dump_dom(browser, diff_page)
        for side, w in sides.items():
            for key, value in (("cost", w["cost"]), ("revenue", w["total"]), ("value", w["total"] - w["cost"]),
                               ("participants", w["participants"]["clients"])):
                checks.equal(f"value{tag} diff {key} {side}", ddom.one(table="value-summary", figure=key, k=side), value)
            for rule, figures in sorted(w["rules"].items()):
                checks.equal(f"value{tag} diff rule {rule} cost {side}",
                             ddom.one(table="rule-value", rule=rule, k=f"cost_{side}"), figures["cost"])
                checks.equal(f"value{tag} diff rule {rule} roi {side}",
                             ddom.one(table="rule-value", rule=rule, k=f"roi_{side}"), figures["roi_bp"])
    checks.check(f"value{tag} every definition on the page",
                 all(f"<dt>{d}</dt>" in open(page).read() for d in ("Cost", "Revenue", "Participants",
                     "Return on investment (per rule)", "Lifetime value", "Cost per segment")), "a definition is missing")


def check_reversals(checks, perk, engine, browser, tmp):
    """[v0.2] Programs with reversals and sends (examples/forex_chargeback, examples/
    referral_two_sided): the summary, the rules and the cost and return figures against figures
    recomputed from the ledger and the events, counter-entries and reversed revenue included."""
    tag = f"[{engine}]"
    for name in ("forex_chargeback", "referral_two_sided"):
        folder = os.path.join(ROOT, "examples", name)
        program, events = os.path.join(folder, "program.perk"), os.path.join(folder, "events.jsonl")
        ledger, rejects, page = (os.path.join(tmp, f"{name}_{engine}.{x}") for x in ("jsonl", "rejects", "html"))
        p = run_perk(perk, ["run", program, "--events", events, "--engine", engine, "--ledger", ledger,
                            "--rejects", rejects, "--report", page])
        if not checks.check(f"reversal{tag} {name} run exits 0", p.returncode == 0, p.stderr[-2000:]):
            continue
        entries, rejected = read_jsonl(ledger), read_jsonl(rejects)
        checks.check(f"reversal{tag} {name} has counter-entries", any("reverses" in e for e in entries), "no reversal")
        want = recompute(events, entries, rejected, ["-"], [])
        dom, p = dump_dom(browser, page)
        if not checks.check(f"reversal{tag} {name} chromium loads the page", p.returncode == 0 and dom.values,
                            p.stderr[-1000:]):
            continue
        for key in ("money_credited", "effects", "participants", "budget_skips", "rejects"):
            checks.equal(f"reversal{tag} {name} summary {key}", dom.one(section="summary", k=key), want["kpi"][key])
        for rule, figures in sorted(want["rules"].items()):
            for key in ("effects", "clients", "money_credited"):
                checks.equal(f"reversal{tag} {name} rule {rule} {key}", dom.one(section="rules", rule=rule, k=key),
                             figures[key])
        if name != "forex_chargeback":
            continue
        # The budget gets back what the counter-debits took: its use peaks below the budget.
        peak, used = 0, 0
        for e in entries:
            if e["rule"] == "deposit_bonus" and e["action"] in ("credit", "debit"):
                used += cents(e["amount"]) * (1 if e["action"] == "credit" else -1)
                peak = max(peak, used)
        checks.equal(f"reversal{tag} budget peak after give-backs", dom.one(section="budgets", rule="deposit_bonus",
                                                                        k="budget_peak"), peak)
        checks.check(f"reversal{tag} the budget was given back", peak < sum(
            cents(e["amount"]) for e in entries if e["rule"] == "deposit_bonus" and e["action"] == "credit"), f"{peak}")
        v = recompute_value(program, events, entries, {r["line"] for r in rejected})
        checks.check(f"reversal{tag} fixture exercises reversed revenue and counter-credits",
                     v["reversed"] > 0 and v["rules"]["trade_uses_bonus"]["credited_clients"] == 0
                     and any(e["action"] == "credit" and e["rule"] == "trade_uses_bonus" for e in entries), f"{v}")
        for key, value in (("cost", v["cost"]), ("revenue", v["total"]), ("value", v["total"] - v["cost"]),
                           ("revenue_events", v["events"]), ("revenue_reversed", v["reversed"])):
            checks.equal(f"reversal{tag} kpi {key}", dom.one(section="value", table=None, k=key), value)
        for rule, figures in sorted(v["rules"].items()):
            for key, value in figures.items():
                checks.equal(f"reversal{tag} rule {rule} {key}", dom.one(table="rule-value", rule=rule, k=key), value)
        for group in ("participants", "non-participants"):
            for key, value in v[group].items():
                checks.equal(f"reversal{tag} {group} {key}", dom.one(table="participation-value", group=group, k=key),
                             value)
        checks.check(f"reversal{tag} sends and reversals defined on the page",
                     "bring no revenue" in open(page).read() and "reversed event" in open(page).read(),
                     "the definitions do not say how reversals and sends count")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perk", required=True)
    ap.add_argument("--engine", default="interp")
    ap.add_argument("--chromium", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "report-test"))
    args = ap.parse_args()
    checks = Checks()
    browser = find_chromium(args.chromium)
    if not checks.check("chromium installed", browser is not None,
                        "no chromium on PATH; scripts/test installs it (apt package `chromium`)"):
        print(f"{checks.passed} passed, {checks.failed} failed")
        return 1
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perk-report-") as tmp:
        events = os.path.join(tmp, "events.jsonl")
        generate_events(events)
        for engine in [e for e in args.engine.split(",") if e]:
            check_run(checks, args.perk, engine, browser, args.out, tmp, events)
            check_diff(checks, args.perk, engine, browser, args.out, tmp, events)
            check_value(checks, args.perk, engine, browser, tmp)
            check_reversals(checks, args.perk, engine, browser, tmp)
    print(f"screenshots and pages: {os.path.relpath(args.out, os.getcwd())}")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
