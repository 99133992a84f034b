#!/usr/bin/env python3
"""Sums a perf profile's self time into the categories the issue-3 analysis talks about.

usage: perf_categories.py PERF_DATA [--exclude CATEGORY,...]

Runs `perf report` on PERF_DATA (flat, self time per symbol) and prints each category's
share of all samples, then its share of the samples left after the excluded categories
(e.g. `decode,harness` for build/core, whose untimed decoding and ledger hashing are in the
profile too). Symbols are matched by the first rule that fits; `other` lists its biggest
members so that a new hot spot is not lost in it.
"""
import argparse
import re
import subprocess
import sys
from collections import defaultdict

# (category, dso regex or None, symbol regex); first match wins.
RULES = [
    ("jit code", r"^\[JIT\]", r""),
    ("jit adapter", None, r"JitEvaluator|AggregateCallback|HasBadgeCallback|CompiledProgram::Find"),
    ("interpreter", None, r"runtime::Eval\(|runtime::InterpEvaluator|perk::ApplyOp|perk::runtime::Eval\b"),
    ("aggregates (Series::Query/Add)", None, r"Series::|EvalAggregate|BucketKey"),
    ("client & dedup hash maps", None,
     r"_Hashtable|_Hash_bytes|Engine::Impl::GetClient|Engine::Impl::Remember|Engine::Impl::DropNewestClient|"
     r"_Deque_base|deque<|id_table_detail::|DedupSet::|ClientIndex<|HashId"),
    ("client snapshots (copy-on-write)", None,
     r"ClientState::operator=|ClientState::ClientState|~ClientState|vector<perk::Value.*operator=|"
     r"vector<perk::runtime::Bucket.*operator=|vector<perk::runtime::Series.*operator=|vector<std::__cxx11::basic_string.*operator=|"
     r"vector<long.*operator=|vector<unsigned char.*operator=|Engine::Impl::Touch"),
    ("malloc/free", None,
     r"^(malloc|_int_malloc|_int_free|cfree|free|unlink_chunk|malloc_consolidate|operator new|operator delete|"
     r"__libc_malloc|__libc_free|_int_realloc|realloc|tcache)|^_int_free_merge|^_int_free_create"),
    ("ledger formatting", None,
     r"fmt::|FormatValueJson|JsonQuote|FormatMoney|FormatDecimal|FormatTime|FormatDate|CivilFromDays|"
     r"Engine::Impl::BeginEntry|Engine::Impl::EndEntry|Engine::Impl::SetTrigger|to_string|__to_chars|"
     r"basic_string.*(append|push_back|_M_append|_M_replace|_M_mutate|_M_assign|_M_construct|basic_string\()|"
     r"back_insert_iterator"),
    ("memcpy/memmove/memset", None, r"^__mem(move|cpy|set)|^memcpy|^memmove|^memset"),
    ("engine logic", None, r"Engine::Impl::|Engine::Process|perk_|Engine::AdvanceTo"),
    ("decode", None, r"RecordDecoder|simdjson|LineReader|ParseScaled|ParseTime|ParseDate|IsValidUtf8|DecodeUtf8"),
    # In build/core these are perf's own control fifo; in perk run, the ledger output.
    ("write/read syscalls", None, r"Output::|fwrite|_IO_|__write|new_do_write|__GI___libc_write|^read$|^write$"),
    ("startup (dynamic linker)", None, r"^_dl_|^do_lookup_x|^check_match"),
    ("native floor", None, r"forex_native::"),
    ("harness", None, r"^main$|Fnv|TimeRun|LoadInput|vector<perk::runtime::Record"),
    ("kernel", r"kernel", r""),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--exclude", default="", help="categories left out of the second share, comma-separated")
    a = ap.parse_args()
    out = subprocess.run(
        ["perf", "report", "-i", a.data, "--stdio", "--no-children", "--sort", "dso,sym", "-g", "none",
         "--percent-limit", "0"],
        capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        return 1
    line_re = re.compile(r"^\s+([0-9.]+)%\s+(.+?)\s+\[(.)\]\s+(.*)$")
    totals = defaultdict(float)
    other = defaultdict(float)
    compiled = [(name, re.compile(d) if d else None, re.compile(s)) for name, d, s in RULES]
    for line in out.stdout.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        pct, dso, _, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        for name, dso_re, sym_re in compiled:
            if dso_re is not None and not dso_re.search(dso):
                continue
            if dso_re is None and not sym_re.search(sym):
                continue
            totals[name] += pct
            break
        else:
            totals["other"] += pct
            other[sym[:90]] += pct
    excluded = {c.strip() for c in a.exclude.split(",") if c.strip()}
    kept = sum(v for k, v in totals.items() if k not in excluded) or 1.0
    print(f"{'category':<36} {'all':>7} {'kept':>7}")
    for name, v in sorted(totals.items(), key=lambda kv: -kv[1]):
        share = "" if name in excluded else f"{100 * v / kept:6.1f}%"
        print(f"{name:<36} {v:6.1f}% {share:>7}")
    if other:
        print("biggest in other:", "; ".join(f"{s} {v:.1f}%" for s, v in sorted(other.items(), key=lambda kv: -kv[1])[:6]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
