#!/usr/bin/env bash
# Times `perk repl` on BENCH_REPL_RECORDS (default 100000) records of bench/forex.perk: typed in
# one by one (each prints its effects table), replayed by `:load` (what a program change
# costs), and, for scale, `perk run` over the same records. Prints records/s for each.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PERK="${PERK:-$ROOT/build/perk}"
RECORDS="${BENCH_REPL_RECORDS:-100000}"
ENGINE="${BENCH_ENGINE:-interp}"
OUT="$ROOT/bench/out"
EVENTS="$OUT/repl_events_${RECORDS}.jsonl"
mkdir -p "$OUT"
if [ ! -s "$EVENTS" ]; then
  python3 bench/gen_events.py --records "$RECORDS" --clients 1000 --days 30 >"$EVENTS.tmp"
  mv "$EVENTS.tmp" "$EVENTS"
fi

seconds() {  # seconds COMMAND...: wall time of COMMAND, its output discarded
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
rate() { echo "$RECORDS / $1" | bc -l | xargs printf '%.0f'; }

typed=$(seconds bash -c "'$PERK' repl bench/forex.perk --engine $ENGINE < '$EVENTS'")
# Typed, then replayed once more by :load: the difference is the replay.
both=$(seconds bash -c "{ cat '$EVENTS'; echo ':load bench/forex.perk'; } | '$PERK' repl bench/forex.perk --engine $ENGINE")
replay=$(echo "$both - $typed" | bc -l)
run=$(seconds "$PERK" run bench/forex.perk --events "$EVENTS" --engine "$ENGINE")
printf 'repl typed:   %d records in %.2f s, %s records/s (each with its effects table)\n' "$RECORDS" "$typed" "$(rate "$typed")"
printf 'repl replay:  %d records in %.2f s, %s records/s (:load, :reload, a declaration)\n' "$RECORDS" "$replay" "$(rate "$replay")"
printf 'perk run:     %d records in %.2f s, %s records/s\n' "$RECORDS" "$run" "$(rate "$run")"
