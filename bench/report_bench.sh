#!/usr/bin/env bash
# Measures `perk run --report` on bench/forex.perk over the generated 1M-record stream: the run
# with and without --report, the report's own cost (build/report_collect folds the same entries
# alone), and the page's size. Inputs are generated once into bench/out/ like run_bench.sh.
# Environment: PERK (default build/perk), BENCH_RECORDS (1000000), BENCH_CLIENTS (100000),
# BENCH_DAYS (60), BENCH_ENGINE (interp; "jit" once the JIT lands).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PERK="${PERK:-$ROOT/build/perk}"
COLLECT="$(dirname "$PERK")/report_collect"
RECORDS="${BENCH_RECORDS:-1000000}"
CLIENTS="${BENCH_CLIENTS:-100000}"
DAYS="${BENCH_DAYS:-60}"
ENGINE="${BENCH_ENGINE:-interp}"
OUT="$ROOT/bench/out"
EVENTS="$OUT/events_${RECORDS}_${CLIENTS}_${DAYS}.jsonl"

for tool in "$PERK" "$COLLECT"; do
  if [ ! -x "$tool" ]; then
    echo "report_bench: $tool not found; build it with scripts/build" >&2
    exit 1
  fi
done
mkdir -p "$OUT"
if [ ! -s "$EVENTS" ]; then
  echo "generating $EVENTS ($RECORDS records, $CLIENTS clients, $DAYS days)"
  python3 bench/gen_events.py --records "$RECORDS" --clients "$CLIENTS" --days "$DAYS" --seed 1 --out "$EVENTS.tmp"
  mv "$EVENTS.tmp" "$EVENTS"
fi

now_ns() { date +%s%N; }

# run_ms ARGS...: one `perk run` of forex.perk; prints its wall time in ms.
run_ms() {
  local start end
  start="$(now_ns)"
  if ! "$PERK" run bench/forex.perk --events "$EVENTS" --engine "$ENGINE" --rejects "$OUT/report_rejects.jsonl" "$@" \
    2>"$OUT/report_run.err"; then
    echo "report_bench: perk run failed:" >&2
    tail -n 20 "$OUT/report_run.err" >&2
    exit 1
  fi
  end="$(now_ns)"
  echo $(( (end - start) / 1000000 ))
}

records="$(wc -l <"$EVENTS")"
# Both runs write the same ledger file, so only --report differs between them.
plain_ms="$(run_ms --ledger "$OUT/report_ledger.jsonl")"
report_ms="$(run_ms --ledger "$OUT/report_ledger.jsonl" --report "$OUT/report.html")"
bytes="$(wc -c <"$OUT/report.html")"
entries="$(wc -l <"$OUT/report_ledger.jsonl")"
echo "perk run bench/forex.perk --engine $ENGINE, $records records, $entries ledger entries:"
echo "  without --report: ${plain_ms} ms"
echo "  with --report:    ${report_ms} ms (difference $(( report_ms - plain_ms )) ms; the machine is shared, so compare with the line below)"
echo "  report page:      $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }') MiB) at $OUT/report.html"
echo "  report alone:     $("$COLLECT" bench/forex.perk "$EVENTS")"
