#!/usr/bin/env bash
# Durable-state throughput: `perk run` over the 1M-record benchmark stream with and without
# --state (both writing the ledger to a real file), for bench/forex.perk (the realistic
# programme) and bench/light.perk (one effect per record and little to evaluate, so that the
# store's own cost shows). Prints wall time and CPU time (user+sys: the machine may be shared),
# records/s, the state's own split (PERK_STATE_TIMING) and the bytes of state per client.
# Environment as in run_bench.sh: PERK, BENCH_RECORDS (1000000), BENCH_CLIENTS (100000),
# BENCH_DAYS (60), BENCH_ENGINE (interp); BENCH_DIR for the outputs (default bench/out).
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

# timed NAME ARGS...: runs perk; prints wall and CPU seconds and records/s for both.
timed() {
  local name="$1"
  shift
  local TIMEFORMAT="%R %U %S" t
  if ! t="$( { time "$PERK" "$@" 2>"$OUT/state_bench.err"; } 2>&1 )"; then
    echo "state_bench: perk $* failed:" >&2
    tail -n 20 "$OUT/state_bench.err" >&2
    exit 1
  fi
  awk -v name="$name" -v n="$records" -v t="$t" 'BEGIN {
    split(t, a, " "); cpu = a[2] + a[3]
    printf "  %-22s %6.2f s wall = %7.0f records/s; %6.2f s CPU = %7.0f records/s per CPU second\n",
           name, a[1], n / a[1], cpu, n / cpu }'
  grep '^perk: state:' "$OUT/state_bench.err" | sed 's/^perk: state: /    store: /' || true
}

for program in forex light; do
  echo "bench/$program.perk, $records records, engine $ENGINE:"
  rm -f "$OUT/plain.ledger" "$OUT/plain.rejects"
  timed "without --state" run "bench/$program.perk" --events "$EVENTS" --engine "$ENGINE" \
    --ledger "$OUT/plain.ledger" --rejects "$OUT/plain.rejects"
  rm -f "$OUT/bench.state" "$OUT/bench.state-wal" "$OUT/bench.state-shm" "$OUT/state.ledger" "$OUT/state.rejects"
  PERK_STATE_TIMING=1 timed "with --state (fresh)" run "bench/$program.perk" --events "$EVENTS" --engine "$ENGINE" \
    --state "$OUT/bench.state" --ledger "$OUT/state.ledger" --rejects "$OUT/state.rejects"
  if ! cmp -s "$OUT/plain.ledger" "$OUT/state.ledger"; then
    echo "state_bench: the ledger with --state differs from the one without" >&2
    exit 1
  fi
  "$PERK" state "$OUT/bench.state" stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
s["per_record"] = s["ledger_bytes"] // s["records"]
print("  ledger {ledger_bytes} bytes ({per_record} per record), the same with and without --state".format(**s))
print("  state {state_live_bytes} bytes in use (file {state_bytes}) for {clients} clients = "
      "{state_bytes_per_client} bytes per client, dedup window {dedup_ids} ids".format(**s))'
done
