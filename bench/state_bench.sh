#!/usr/bin/env bash
# Durable-state throughput: `perk run bench/forex.perk` over the 1M-record benchmark stream with
# and without --state (both writing the ledger to a real file), the split of the state's own
# time (PERK_STATE_TIMING), and the bytes of state per client. Environment as in run_bench.sh:
# PERK, BENCH_RECORDS (1000000), BENCH_CLIENTS (100000), BENCH_DAYS (60), BENCH_ENGINE (interp),
# and BENCH_DIR for the outputs (default bench/out; put it on the disk you want to measure).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PERK="${PERK:-$ROOT/build/perk}"
RECORDS="${BENCH_RECORDS:-1000000}"
CLIENTS="${BENCH_CLIENTS:-100000}"
DAYS="${BENCH_DAYS:-60}"
ENGINE="${BENCH_ENGINE:-interp}"
OUT="${BENCH_DIR:-$ROOT/bench/out}"
EVENTS="$ROOT/bench/out/events_${RECORDS}_${CLIENTS}_${DAYS}.jsonl"

if [ ! -x "$PERK" ]; then
  echo "state_bench: $PERK not found; build it with scripts/build" >&2
  exit 1
fi
mkdir -p "$ROOT/bench/out" "$OUT"
if [ ! -s "$EVENTS" ]; then
  echo "generating $EVENTS ($RECORDS records, $CLIENTS clients, $DAYS days)"
  python3 bench/gen_events.py --records "$RECORDS" --clients "$CLIENTS" --days "$DAYS" --seed 1 --out "$EVENTS.tmp"
  mv "$EVENTS.tmp" "$EVENTS"
fi
records="$(wc -l <"$EVENTS")"
now_ns() { date +%s%N; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms < 1) ms = 1; printf "%.0f", n * 1000 / ms }'; }

# timed NAME ARGS...: runs perk, prints the wall time and records/s.
timed() {
  local name="$1"
  shift
  local start end ms
  start="$(now_ns)"
  if ! "$PERK" "$@" 2>"$OUT/state_bench.err"; then
    echo "state_bench: perk $* failed:" >&2
    tail -n 20 "$OUT/state_bench.err" >&2
    exit 1
  fi
  end="$(now_ns)"
  ms=$(( (end - start) / 1000000 ))
  echo "$name: $records records in ${ms} ms = $(rate "$records" "$ms") records/s"
  grep '^perk: state:' "$OUT/state_bench.err" || true
}

rm -f "$OUT/plain.ledger" "$OUT/plain.rejects"
timed "without --state" run bench/forex.perk --events "$EVENTS" --engine "$ENGINE" \
  --ledger "$OUT/plain.ledger" --rejects "$OUT/plain.rejects"

rm -f "$OUT/bench.state" "$OUT/bench.state-wal" "$OUT/bench.state-shm" "$OUT/state.ledger" "$OUT/state.rejects"
PERK_STATE_TIMING=1 timed "with --state (fresh)" run bench/forex.perk --events "$EVENTS" --engine "$ENGINE" \
  --state "$OUT/bench.state" --ledger "$OUT/state.ledger" --rejects "$OUT/state.rejects"

if ! cmp -s "$OUT/plain.ledger" "$OUT/state.ledger"; then
  echo "state_bench: the ledger with --state differs from the one without" >&2
  exit 1
fi
ledger_bytes="$(wc -c <"$OUT/state.ledger")"
echo "ledger: $ledger_bytes bytes ($(( ledger_bytes / records )) bytes per record), identical with and without --state"

stats="$("$PERK" state "$OUT/bench.state" stats)"
echo "state: $(python3 -c '
import json, sys
s = json.loads(sys.argv[1])
print(s["state_live_bytes"], "bytes in use (file", s["state_bytes"], "bytes) for", s["clients"], "clients =",
      s["state_bytes_per_client"], "bytes per client,",
      s["dedup_ids"], "dedup ids,", s["commits"], "commits")' "$stats")"
