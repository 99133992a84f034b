#!/usr/bin/env bash
# Times `perk check` on a generated 200-rule program and `perk run` of bench/forex.perk on 1M records.
# Inputs are generated once into bench/out/ (gitignored). Environment: PERK (default build/perk),
# BENCH_RULES (200), BENCH_RECORDS (1000000), BENCH_CLIENTS (100000), BENCH_DAYS (60),
# BENCH_ENGINE (interp; "jit" once the JIT lands).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PERK="${PERK:-$ROOT/build/perk}"
RULES="${BENCH_RULES:-200}"
RECORDS="${BENCH_RECORDS:-1000000}"
CLIENTS="${BENCH_CLIENTS:-100000}"
DAYS="${BENCH_DAYS:-60}"
ENGINE="${BENCH_ENGINE:-interp}"
OUT="$ROOT/bench/out"
PROGRAM="$OUT/program_${RULES}.perk"
EVENTS="$OUT/events_${RECORDS}_${CLIENTS}_${DAYS}.jsonl"

if [ ! -x "$PERK" ]; then
  echo "run_bench: $PERK not found; build it with scripts/build" >&2
  exit 1
fi
mkdir -p "$OUT"

# Generated files are written to a temporary name first so an interrupted run leaves none half-done.
if [ ! -s "$PROGRAM" ]; then
  echo "generating $PROGRAM ($RULES rules)"
  python3 bench/gen_program.py --rules "$RULES" >"$PROGRAM.tmp"
  mv "$PROGRAM.tmp" "$PROGRAM"
fi
if [ ! -s "$EVENTS" ]; then
  echo "generating $EVENTS ($RECORDS records, $CLIENTS clients, $DAYS days)"
  python3 bench/gen_events.py --records "$RECORDS" --clients "$CLIENTS" --days "$DAYS" --seed 1 \
    --out "$EVENTS.tmp"
  mv "$EVENTS.tmp" "$EVENTS"
fi

now_ns() { date +%s%N; }

# Both programs must check cleanly before anything is timed.
for prog in "$PROGRAM" bench/forex.perk; do
  if ! "$PERK" check "$prog" >/dev/null 2>"$OUT/check.err"; then
    echo "run_bench: perk check $prog failed:" >&2
    head -n 40 "$OUT/check.err" >&2
    exit 1
  fi
done

best_ms=""
for _ in 1 2 3 4 5; do
  start="$(now_ns)"
  "$PERK" check "$PROGRAM" >/dev/null 2>&1
  end="$(now_ns)"
  ms=$(( (end - start) / 1000000 ))
  if [ -z "$best_ms" ] || [ "$ms" -lt "$best_ms" ]; then
    best_ms="$ms"
  fi
done
lines="$(wc -l <"$PROGRAM")"
echo
echo "perk check, $RULES rules ($lines lines): best of 5 = ${best_ms} ms"

records="$(wc -l <"$EVENTS")"
start="$(now_ns)"
if ! "$PERK" run bench/forex.perk --events "$EVENTS" --ledger /dev/null --rejects "$OUT/rejects.jsonl" \
  --engine "$ENGINE" 2>"$OUT/run.err"; then
  echo "run_bench: perk run failed:" >&2
  tail -n 40 "$OUT/run.err" >&2
  exit 1
fi
end="$(now_ns)"
elapsed_ms=$(( (end - start) / 1000000 ))
rejects="$(wc -l <"$OUT/rejects.jsonl")"
rate="$(awk -v n="$records" -v ms="$elapsed_ms" 'BEGIN { if (ms < 1) ms = 1; printf "%.0f", n * 1000 / ms }')"
echo "perk run bench/forex.perk --engine $ENGINE: $records records in ${elapsed_ms} ms = $rate events/s ($rejects rejected)"
echo "summary: $(tr '\n' ' ' <"$OUT/run.err")"
