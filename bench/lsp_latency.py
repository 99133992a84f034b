#!/usr/bin/env python3
"""Times `perk lsp`'s diagnostics as you type on the 200-rule program (bench/gen_program.py):
from sending a didChange to receiving its publishDiagnostics, over N edits, incremental (one
character typed and removed in a rule's condition, alternately making and fixing an error),
N/2 edits that make and fix a syntax error (the whole program is then parsed again), and N/4
full-text changes. Prints p50, p99 and max in milliseconds. Asserts nothing.

usage: bench/lsp_latency.py [--perk build/perk] [--rules 200] [--edits 200]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lsp"))
from lspclient import Client  # noqa: E402


def cpu_ms(pid):
    """The process's user + system CPU time so far, in ms (load on the machine does not add to it)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--perk", default=os.path.join(ROOT, "build", "perk"))
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--edits", type=int, default=200)
    args = parser.parse_args()
    text = subprocess.run([sys.executable, os.path.join(HERE, "gen_program.py"), str(args.rules)],
                          check=True, capture_output=True, text=True).stdout
    uri = "file:///bench/generated.perk"
    c = Client(os.path.abspath(args.perk))
    c.initialize()
    start = time.perf_counter()
    c.open(uri, text)
    first = c.diagnostics(uri)
    open_ms = (time.perf_counter() - start) * 1000
    if first["diagnostics"]:
        print(f"warning: the generated program has {len(first['diagnostics'])} diagnostics", file=sys.stderr)
    # Where to type: the first `when ` of a rule, near the middle of the program.
    lines = text.split("\n")
    line = next(k for k in range(len(lines) // 2, len(lines)) if " when " in lines[k])
    col = lines[line].index(" when ") + 6
    version = 1
    incremental, full = [], []
    cpu_start = cpu_ms(c.proc.pid)
    for k in range(args.edits):
        version += 1
        at = {"line": line, "character": col}
        if k % 2 == 0:  # type `x` (an unknown name: an error), then delete it
            change = {"range": {"start": at, "end": at}, "text": "x"}
        else:
            change = {"range": {"start": at, "end": {"line": line, "character": col + 1}}, "text": ""}
        t0 = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        d = c.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["version"] == version)
        incremental.append((time.perf_counter() - t0) * 1000)
        assert bool(d["params"]["diagnostics"]) == (k % 2 == 0)
    cpu_per_edit = (cpu_ms(c.proc.pid) - cpu_start) / args.edits
    # Typing `(` makes a syntax error: the whole program is parsed again (lsp/incremental.h).
    syntax = []
    for k in range(args.edits // 2):
        version += 1
        at = {"line": line, "character": col}
        if k % 2 == 0:
            change = {"range": {"start": at, "end": at}, "text": "("}
        else:
            change = {"range": {"start": at, "end": {"line": line, "character": col + 1}}, "text": ""}
        t0 = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        d = c.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["version"] == version)
        syntax.append((time.perf_counter() - t0) * 1000)
        assert bool(d["params"]["diagnostics"]) == (k % 2 == 0)
    for k in range(args.edits // 4):
        version += 1
        t0 = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})
        c.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["version"] == version)
        full.append((time.perf_counter() - t0) * 1000)
    c.call("shutdown")
    c.notify("exit")
    c.close()
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"program: {args.rules} rules, {len(lines)} lines, {len(text)} bytes; open to diagnostics {open_ms:.1f} ms")
    for name, xs in (("incremental edit", incremental), ("syntax error edit", syntax), ("full-text change", full)):
        print(f"{name:17} x{len(xs)}: p50 {statistics.median(xs):.1f} ms, p99 {percentile(xs, 99):.1f} ms, "
              f"max {max(xs):.1f} ms")
    print(f"server CPU time per incremental edit (parse, check, index, answer): {cpu_per_edit:.1f} ms")


if __name__ == "__main__":
    main()
