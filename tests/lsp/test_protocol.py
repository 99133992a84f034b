#!/usr/bin/env python3
"""Drives `perk lsp` over pipes: every request it serves, and malformed and out-of-order
messages, each of which must get a JSON-RPC error while the server keeps running.
Diagnostics are compared with `perk check`'s on every program in tests/diagnostics.

usage: test_protocol.py --perk build/perk
Prints `ok`/`FAIL` per test and `N passed, N failed`; exits 1 on any failure.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from lspclient import Client, frame  # noqa: E402

PROGRAM_PATH = os.path.join(HERE, "program.perk")
with open(PROGRAM_PATH, encoding="utf-8") as f:
    PROGRAM = f.read()
URI = "file://" + PROGRAM_PATH
PERK = None
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def position(text, word, nth=1, offset=0):
    """The LSP position of the nth `word` in `text` (ASCII), plus `offset` characters."""
    at = -1
    for _ in range(nth):
        at = text.index(word, at + 1)
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    return {"line": line, "character": col + offset}


def started():
    c = Client(PERK)
    c.initialize()
    return c


def opened(text=PROGRAM, uri=URI):
    c = started()
    c.open(uri, text)
    diags = c.diagnostics(uri)
    return c, diags


def expect_error(msg, code):
    assert "error" in msg, msg
    assert msg["error"]["code"] == code, msg
    assert msg["error"]["message"], msg


def alive(c):
    """The server still answers a request correctly."""
    r = c.call("textDocument/documentSymbol", {"textDocument": {"uri": URI}})
    assert "result" in r or r["error"]["code"] == -32602, r


# ---- lifecycle and out-of-order messages

@test
def initialize_gives_capabilities():
    c = Client(PERK)
    r = c.call("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    caps = r["result"]["capabilities"]
    for key in ("hoverProvider", "definitionProvider", "referencesProvider", "documentSymbolProvider",
                "completionProvider", "codeActionProvider", "documentFormattingProvider", "textDocumentSync"):
        assert key in caps, key
    assert caps["completionProvider"]["triggerCharacters"] == ["."]
    c.notify("initialized", {})
    expect_error(c.call("initialize", {"capabilities": {}}), -32600)  # twice
    assert c.call("shutdown")["result"] is None
    c.notify("exit")
    assert c.close() == 0


@test
def request_before_initialize():
    c = Client(PERK)
    expect_error(c.call("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}),
                 -32002)
    # A notification before initialize is dropped, not answered.
    c.open(URI, PROGRAM)
    assert "result" in c.call("initialize", {"capabilities": {}})
    c.notify("exit")
    assert c.close() == 1  # exit without shutdown


@test
def malformed_json():
    c, _ = opened()
    c.send_raw(frame(b'{"jsonrpc": "2.0", "id": 5, "method": '))
    msg = c.wait(lambda m: "error" in m)
    expect_error(msg, -32700)
    assert msg["id"] is None
    alive(c)
    c.close()


@test
def bad_content_length():
    c, _ = opened()
    c.send_raw(b"Content-Length: twelve\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"shutdown\"}")
    expect_error(c.wait(lambda m: "error" in m), -32700)
    alive(c)
    # A header block with no Content-Length at all.
    c.send_raw(b"Content-Type: application/vscode-jsonrpc\r\n\r\n")
    expect_error(c.wait(lambda m: "error" in m), -32700)
    alive(c)
    # A length shorter than the body: the cut-off JSON is an error, the rest is skipped.
    c.send_raw(b"Content-Length: 10\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":78,\"method\":\"shutdown\"}")
    expect_error(c.wait(lambda m: "error" in m), -32700)
    alive(c)
    c.close()


@test
def not_a_request():
    c, _ = opened()
    for body in (b'[1, 2]', b'{"id": 9, "method": "shutdown"}', b'{"jsonrpc": "2.0", "id": 9}',
                 b'{"jsonrpc": "2.0", "id": 9, "method": 42}'):
        c.send_raw(frame(body))
        expect_error(c.wait(lambda m: "error" in m), -32600)
    alive(c)
    c.close()


@test
def unknown_method():
    c, _ = opened()
    expect_error(c.call("textDocument/frobnicate", {}), -32601)
    c.notify("workspace/somethingNew", {})  # an unknown notification: ignored
    alive(c)
    c.close()


@test
def invalid_params():
    c, _ = opened()
    expect_error(c.call("textDocument/hover", {"textDocument": {"uri": URI}}), -32602)
    expect_error(c.call("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": "x"}}), -32602)
    expect_error(c.call("textDocument/definition",
                        {"textDocument": {"uri": "file:///not/open.perk"}, "position": {"line": 0, "character": 0}}),
                 -32602)
    alive(c)
    c.close()


@test
def random_requests_do_not_stop_the_server():
    import random
    rng = random.Random(21)
    c, _ = opened()
    methods = ["textDocument/hover", "textDocument/definition", "textDocument/references", "textDocument/completion",
               "textDocument/documentSymbol", "textDocument/codeAction", "textDocument/didChange", "initialize", "$/x"]
    values = [None, 0, -5, 10 ** 12, "x", [], {}, {"line": 3}, {"line": -1, "character": -1},
              {"line": 10 ** 6, "character": 10 ** 6}, {"uri": URI}, {"textDocument": {"uri": URI}}]
    ids = []
    for k in range(300):
        params = {"textDocument": rng.choice([{"uri": URI}, {"uri": 3}, {}, None]),
                  "position": rng.choice(values), "range": {"start": rng.choice(values), "end": rng.choice(values)},
                  "contentChanges": rng.choice([None, [], [{"text": 5}], [{"range": rng.choice(values), "text": "("}]]),
                  "context": rng.choice(values)}
        msg = {"jsonrpc": "2.0", "method": rng.choice(methods), "params": rng.choice([params, None, 7, "p"])}
        if rng.random() < 0.7:
            msg["id"] = 1000 + k
            ids.append(1000 + k)
        c.send_raw(frame(msg))
    for rid in ids:
        c.response(rid)  # every request is answered, with a result or an error
    # Undo whatever the random changes did to the text, and check it is still served.
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 99}, "contentChanges": [{"text": PROGRAM}]})
    r = c.call("textDocument/hover", {"textDocument": {"uri": URI}, "position": position(PROGRAM, "amount >= 100")})
    assert "money" in r["result"]["contents"]["value"], r
    c.close()


@test
def shutdown_then_exit():
    c, _ = opened()
    assert c.call("shutdown")["result"] is None
    expect_error(c.call("textDocument/documentSymbol", {"textDocument": {"uri": URI}}), -32600)
    c.notify("exit")
    assert c.close() == 0


# ---- documents and diagnostics

CHECK_LINE = re.compile(r"^(.*?):(\d+):(\d+): (error|warning): (.*) \[([EW]\d{4})\]$")


def check_diagnostics(path):
    """What `perk check` prints: (line, column, length, severity, message, code) per diagnostic."""
    out = subprocess.run([PERK, "check", path], capture_output=True, text=True).stderr.splitlines()
    found = []
    for k, line in enumerate(out):
        m = CHECK_LINE.match(line)
        if not m:
            continue
        caret = out[k + 2] if k + 2 < len(out) else ""
        length = len(caret.strip()) if caret.strip().startswith("^") else 1
        found.append((int(m.group(2)), int(m.group(3)), length, m.group(4), m.group(5), m.group(6)))
    return sorted(found)


def lsp_diagnostics(params):
    """The check's diagnostics (`perk analyze`'s findings have their own test)."""
    found = []
    for d in params["diagnostics"]:
        if d["source"] != "perk":
            continue
        r = d["range"]
        length = max(1, r["end"]["character"] - r["start"]["character"])
        found.append((r["start"]["line"] + 1, r["start"]["character"] + 1, length,
                      "error" if d["severity"] == 1 else "warning", d["message"], d["code"]))
    return sorted(found)


@test
def diagnostics_match_perk_check():
    c = started()
    paths = sorted(glob.glob(os.path.join(ROOT, "tests", "diagnostics", "*.perk")))
    assert len(paths) > 20
    differing = []
    for path in paths:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        # Only ASCII programs: the columns then count the same in UTF-16 and in code points.
        if not text.isascii():
            continue
        uri = "file://" + path
        c.open(uri, text)
        got = lsp_diagnostics(c.diagnostics(uri))
        want = check_diagnostics(path)
        if got != want:
            differing.append((os.path.basename(path), got, want))
        c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        assert c.diagnostics(uri)["diagnostics"] == []
    assert not differing, differing[:2]
    c.close()


@test
def clean_program_has_no_diagnostics():
    c, diags = opened()
    assert diags["diagnostics"] == [], diags
    c.close()


@test
def diagnostics_follow_full_and_incremental_changes():
    c, _ = opened()
    broken = PROGRAM.replace("deposit.amount >= 100", "deposit.amout >= 100")
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": broken}]})
    d = c.diagnostics(URI)
    assert d["version"] == 2
    assert [x["code"] for x in d["diagnostics"]] == ["E0013"], d
    assert "did you mean `amount`?" in d["diagnostics"][0]["message"]
    start = position(broken, "amout")
    assert d["diagnostics"][0]["range"]["start"] == start
    # An incremental edit puts the `n` back.
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 3}, "contentChanges": [
        {"range": {"start": {"line": start["line"], "character": start["character"] + 4},
                   "end": {"line": start["line"], "character": start["character"] + 4}}, "text": "n"}]})
    d = c.diagnostics(URI)
    assert d["version"] == 3 and d["diagnostics"] == [], d
    # Two edits in one change, applied in order: delete a line's text, then type a syntax error.
    line = position(PROGRAM, "wallet points")["line"]
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 4}, "contentChanges": [
        {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 14}}, "text": ""},
        {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": "walet p"}]})
    d = c.diagnostics(URI)
    assert any(x["code"] == "E0001" and "did you mean `wallet`?" in x["message"] for x in d["diagnostics"]), d
    c.close()


@test
def a_burst_of_changes_ends_with_the_last_version():
    c, _ = opened()
    frames = b""
    for v, text in ((2, PROGRAM.replace("welcome_bonus\n", "welcom_bonus\n")), (3, PROGRAM + "\nrule"), (4, PROGRAM)):
        frames += frame({"jsonrpc": "2.0", "method": "textDocument/didChange",
                         "params": {"textDocument": {"uri": URI, "version": v}, "contentChanges": [{"text": text}]}})
    c.send_raw(frames)
    d = c.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["version"] == 4)
    assert d["params"]["diagnostics"] == [], d
    # A request right after a change sees the changed text.
    broken = PROGRAM.replace("credit points floor", "credit pints floor")
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 5}, "contentChanges": [{"text": broken}]})
    r = c.call("textDocument/codeAction", {"textDocument": {"uri": URI},
                                          "range": {"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}}})
    assert [a["edit"]["changes"][URI][0]["newText"] for a in r["result"]] == ["points"], r
    c.close()


# ---- language features

@test
def hover_shows_type_and_declaration():
    c, _ = opened()
    r = c.call("textDocument/hover", {"textDocument": {"uri": URI}, "position": position(PROGRAM, "amount >= 100")})
    value = r["result"]["contents"]["value"]
    assert "field `amount`: money of event `deposit`" in value, value
    assert "event deposit { amount: money" in value, value
    r = c.call("textDocument/hover", {"textDocument": {"uri": URI}, "position": position(PROGRAM, "welcome_bonus", 2)})
    assert "param `welcome_bonus`: money" in r["result"]["contents"]["value"], r
    r = c.call("textDocument/hover", {"textDocument": {"uri": URI}, "position": position(PROGRAM, "floor")})
    assert "floor(x)" in r["result"]["contents"]["value"], r
    r = c.call("textDocument/hover", {"textDocument": {"uri": URI}, "position": position(PROGRAM, "limit once")})
    assert r["result"] is None, r
    c.close()


@test
def definition_of_every_kind_of_name():
    c, _ = opened()
    cases = [  # (the use, which occurrence, the declaration)
        ("deposit when", 1, "deposit {"),         # event in a trigger
        ("amount >= 100", 1, "amount: money"),    # field
        ("country ==", 1, "country: string"),     # client attribute
        ("bonus welcome_bonus", 1, "bonus: money"),  # wallet
        ("welcome_bonus\n", 1, "welcome_bonus ="),   # param
        ("trade within", 1, "trade {"),           # aggregate's event
        ("volume /", 1, "volume: money"),         # field in an action
    ]
    for use, nth, decl in cases:
        r = c.call("textDocument/definition", {"textDocument": {"uri": URI}, "position": position(PROGRAM, use, nth)})
        loc = r["result"]
        assert loc["uri"] == URI, (use, r)
        assert loc["range"]["start"] == position(PROGRAM, decl), (use, loc, position(PROGRAM, decl))
    # A built-in has no declaration in the program.
    r = c.call("textDocument/definition", {"textDocument": {"uri": URI}, "position": position(PROGRAM, "floor")})
    assert r["result"] is None
    c.close()


@test
def references_of_a_field_and_a_tier():
    c, _ = opened()
    params = {"textDocument": {"uri": URI}, "position": position(PROGRAM, "amount: money")}
    with_decl = c.call("textDocument/references", dict(params, context={"includeDeclaration": True}))["result"]
    without = c.call("textDocument/references", dict(params, context={"includeDeclaration": False}))["result"]
    starts = [x["range"]["start"] for x in with_decl]
    assert starts == [position(PROGRAM, "amount: money"), position(PROGRAM, "amount within"),
                      position(PROGRAM, "amount >= 100")], starts
    assert len(without) == 2
    r = c.call("textDocument/references", {"textDocument": {"uri": URI}, "position": position(PROGRAM, "Silver"),
                                           "context": {"includeDeclaration": False}})
    assert r["result"] == []
    c.close()


@test
def completion_of_fields_names_keywords_builtins():
    c, _ = opened()
    # Type `deposit.` into the `when` of the trading rule (the program then does not parse).
    at = position(PROGRAM, "client.country")
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
        {"range": {"start": at, "end": at}, "text": "deposit. and "}]})
    c.diagnostics(URI)
    r = c.call("textDocument/completion", {"textDocument": {"uri": URI},
                                          "position": {"line": at["line"], "character": at["character"] + 8}})
    labels = [i["label"] for i in r["result"]["items"]]
    assert labels == ["amount", "method", "id", "client", "time"], labels
    amount = r["result"]["items"][0]
    assert amount["kind"] == 5 and "money" in amount["detail"], amount
    # `client.` lists the client's attributes.
    r = c.call("textDocument/completion", {"textDocument": {"uri": URI},
                                          "position": {"line": at["line"], "character": at["character"] + 13 + 7}})
    labels = [i["label"] for i in r["result"]["items"]]
    assert "country" in labels and "since" in labels, labels
    # Anywhere else: names, built-ins and keywords.
    r = c.call("textDocument/completion", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}})
    labels = {i["label"]: i["kind"] for i in r["result"]["items"]}
    for name in ("deposit", "points", "welcome_bonus", "Gold", "traders", "welcome"):
        assert name in labels, name
    assert labels["floor"] == 3 and labels["years_between"] == 3
    assert labels["when"] == 14 and labels["otherwise"] == 14
    c.close()


@test
def document_symbols():
    c, _ = opened()
    r = c.call("textDocument/documentSymbol", {"textDocument": {"uri": URI}})["result"]
    names = [s["name"] for s in r]
    for name in ("welcome", "trading", "Silver", "Gold", "traders", "deposit", "points"):
        assert name in names, names
    rule = next(s for s in r if s["name"] == "welcome")
    assert rule["kind"] == 12
    assert rule["selectionRange"]["start"] == position(PROGRAM, "welcome on")
    assert rule["range"]["end"]["line"] == position(PROGRAM, "end\n\nrule trading")["line"]
    event = next(s for s in r if s["name"] == "deposit")
    assert [f["name"] for f in event["children"]] == ["amount", "method"]
    c.close()


@test
def quick_fix_for_did_you_mean():
    broken = PROGRAM.replace("deposit.amount >= 100", "deposit.amout >= 100")
    c, d = opened(broken)
    diag = d["diagnostics"][0]
    r = c.call("textDocument/codeAction", {"textDocument": {"uri": URI}, "range": diag["range"],
                                          "context": {"diagnostics": [diag]}})["result"]
    assert len(r) == 1, r
    action = r[0]
    assert action["kind"] == "quickfix" and "amount" in action["title"]
    (edit,) = action["edit"]["changes"][URI]
    assert edit["newText"] == "amount"
    start = position(broken, "amout")
    assert edit["range"] == {"start": start, "end": {"line": start["line"], "character": start["character"] + 5}}
    # Applying it gives a clean program.
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2},
                                        "contentChanges": [{"range": edit["range"], "text": edit["newText"]}]})
    assert c.diagnostics(URI)["diagnostics"] == []
    # No fix where no diagnostic carries one.
    r = c.call("textDocument/codeAction", {"textDocument": {"uri": URI}, "range": diag["range"],
                                          "context": {"diagnostics": []}})
    assert r["result"] == []
    c.close()


def fixes(c, text):
    """The (range text, replacement) of every quick fix offered on the whole document."""
    r = c.call("textDocument/codeAction", {"textDocument": {"uri": URI}, "context": {"diagnostics": []},
                                          "range": {"start": {"line": 0, "character": 0},
                                                    "end": {"line": 999, "character": 0}}})["result"]
    lines = text.split("\n")
    out = []
    for action in r:
        (edit,) = action["edit"]["changes"][URI]
        start, end = edit["range"]["start"], edit["range"]["end"]
        assert start["line"] == end["line"]
        out.append((lines[start["line"]][start["character"]:end["character"]], edit["newText"]))
    return out


@test
def quick_fixes_for_keywords_percentages_and_names():
    text = (PROGRAM.replace("limit once per client", "limit once per client\n  wen deposit.amount > 0", 1)
            .replace("credit bonus welcome_bonus", "credit bonus deposit.amount * 30"))
    c, d = opened(text)
    assert ("wen", "when") in fixes(c, text), fixes(c, text)
    text = PROGRAM.replace("credit bonus welcome_bonus", "credit bonus deposit.amount * 30")
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": text}]})
    d = c.diagnostics(URI)
    assert any(x["severity"] == 2 for x in d["diagnostics"]), d
    assert fixes(c, text) == [("30", "30%")], fixes(c, text)
    text = PROGRAM.replace("floor(trade", "flor(trade").replace("bonus welcome_bonus", "bonuss welcome_bonus").replace(
        "count(trade within", "count(trad within")
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": text}]})
    c.diagnostics(URI)
    assert sorted(fixes(c, text)) == [("bonuss", "bonus"), ("flor", "floor"), ("trad", "trade")], fixes(c, text)
    c.close()


@test
def unicode_columns_are_utf16():
    # `𝒜` (U+1D49C, a letter) is one column to `perk check` and two UTF-16 units to the editor.
    text = PROGRAM.replace("wallet points: int", "wallet 𝒜points: int").replace(
        "credit points floor", "credit 𝒜points floor").replace(
        'country == "CY"', 'country == "ČY" and 𝒜point > 0')
    c, d = opened(text)
    (diag,) = d["diagnostics"]
    assert diag["code"] == "E0011" and "did you mean `𝒜points`?" in diag["message"], diag
    line = text.splitlines()[diag["range"]["start"]["line"]]
    units = len(line[:line.index("𝒜point >")].encode("utf-16-le")) // 2
    assert diag["range"]["start"]["character"] == units, (diag, units)
    assert diag["range"]["end"]["character"] == units + 7, diag
    r = c.call("textDocument/definition", {"textDocument": {"uri": URI},
                                          "position": {"line": position(text, "floor")["line"], "character": 13}})
    assert r["result"]["range"]["start"]["character"] == 7, r
    assert r["result"]["range"]["end"]["character"] == 7 + 8, r
    # The quick fix replaces the two-unit letter and all.
    r = c.call("textDocument/codeAction", {"textDocument": {"uri": URI}, "range": diag["range"],
                                          "context": {"diagnostics": [diag]}})["result"]
    (edit,) = r[0]["edit"]["changes"][URI]
    assert edit["range"] == diag["range"] and edit["newText"] == "𝒜points", edit
    c.close()


@test
def formatting_gives_perk_fmt_layout():
    """textDocument/formatting answers one edit whose text is what `perk fmt` writes; none for a
    formatted document; an error (and a server that serves on) for one that does not parse."""
    messy = PROGRAM.replace("\n", "   \n").replace("  ", "    ", 3)
    c, _ = opened(messy)
    caps_ok = c.call("textDocument/formatting", {"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": True}})
    (edit,) = caps_ok["result"]
    want = subprocess.run([PERK, "fmt", "-"], input=messy.encode(), capture_output=True, check=True).stdout.decode()
    assert edit["newText"] == want, edit["newText"]
    assert edit["range"]["start"] == {"line": 0, "character": 0}, edit
    lines = messy.split("\n")
    assert edit["range"]["end"] == {"line": len(lines) - 1, "character": len(lines[-1])}, edit
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": want}]})
    c.diagnostics(URI)
    r = c.call("textDocument/formatting", {"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": True}})
    assert r["result"] == [], r
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": "rule ( on"}]})
    c.diagnostics(URI)
    expect_error(c.call("textDocument/formatting", {"textDocument": {"uri": URI}, "options": {}}), -32803)
    alive(c)
    c.close()


@test
def analysis_findings_on_open_and_save():
    """`perk analyze`'s findings come as information diagnostics on open and on save, at the
    places `perk analyze` reports them; an edit makes them stale, so they go until the next save."""
    path = os.path.join(ROOT, "tests", "analyze", "never_fires.perk")
    uri = "file://" + path
    with open(path) as f:
        text = f.read()
    want = set()
    with open(os.path.join(ROOT, "tests", "analyze", "never_fires.expected")) as f:
        for line in f:
            m = re.match(r"tests/analyze/never_fires\.perk:(\d+):(\d+): \w+: (.*) \[(A\d+)\]$", line.strip())
            if m:
                want.add((int(m.group(1)) - 1, int(m.group(2)) - 1, m.group(4), m.group(3)))
    assert want, "the golden names findings"

    def findings(d):
        return {(x["range"]["start"]["line"], x["range"]["start"]["character"], x["code"], x["message"])
                for x in d["diagnostics"] if x.get("source") == "perk analyze"}

    c = started()
    c.open(uri, text)
    d = c.diagnostics(uri)
    assert findings(d) == want, (findings(d), want)
    assert all(x["severity"] == 3 for x in d["diagnostics"] if x.get("source") == "perk analyze"), d
    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                       "contentChanges": [{"text": text + "# edited\n"}]})
    assert findings(c.diagnostics(uri)) == set()
    c.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert findings(c.diagnostics(uri)) == want
    # Where the check warns already (money times 30, a `when` always false), no finding repeats it.
    path = os.path.join(ROOT, "tests", "diagnostics", "safety_warnings.perk")
    with open(path) as f:
        c.open("file://" + path, f.read())
    d = c.diagnostics("file://" + path)
    starts = lambda source: {(x["range"]["start"]["line"], x["range"]["start"]["character"])
                             for x in d["diagnostics"] if x["source"] == source}
    assert starts("perk") and not starts("perk") & starts("perk analyze"), d
    alive(c)
    c.close()


def main():
    global PERK
    parser = argparse.ArgumentParser()
    parser.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    args = parser.parse_args()
    PERK = os.path.abspath(args.perk)
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            print(f"ok   {fn.__name__}")
            passed += 1
        except Exception:
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
