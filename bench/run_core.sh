#!/usr/bin/env bash
# One command for the figures of issue 3, from one run on this machine:
#   1. build/core: ns/event of the evaluation core (records decoded beforehand, untimed) for the
#      engine with the JIT, the engine with the interpreter, and bench/forex.perk written by hand
#      in C++ (the floor); their ledgers must hash the same.
#   2. `perk run` end to end, JSONL in and a ledger file out, with --engine jit and interp.
#   3. build/jit_load: load time (parse + check + JIT) of a generated 200-rule program.
#   4. build/expr: the program's expressions evaluated alone, JIT against interpreter.
# Inputs are generated once into bench/out/ (gitignored). Environment: PERK (build/perk),
# BENCH_RULES (200), BENCH_RECORDS (1000000), BENCH_CLIENTS (100000), BENCH_DAYS (60),
# CORE_RUNS (3: best of N for the core), E2E_ENGINES ("jit interp").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PERK="${PERK:-$ROOT/build/perk}"
BUILD="$(dirname "$PERK")"
CORE="$BUILD/core"
JIT_LOAD="$BUILD/jit_load"
RULES="${BENCH_RULES:-200}"
RECORDS="${BENCH_RECORDS:-1000000}"
CLIENTS="${BENCH_CLIENTS:-100000}"
DAYS="${BENCH_DAYS:-60}"
RUNS="${CORE_RUNS:-3}"
E2E_ENGINES="${E2E_ENGINES:-jit interp}"
OUT="$ROOT/bench/out"
PROGRAM="$OUT/program_${RULES}.perk"
EVENTS="$OUT/events_${RECORDS}_${CLIENTS}_${DAYS}.jsonl"

for exe in "$PERK" "$CORE" "$JIT_LOAD" "$BUILD/expr"; do
  if [ ! -x "$exe" ]; then
    echo "run_core: $exe not found; build it with scripts/build" >&2
    exit 1
  fi
done
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
records="$(grep -c . "$EVENTS")"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo
echo "== 1. evaluation core (build/core, best of $RUNS)"
core_status=0
"$CORE" --program bench/forex.perk --events "$EVENTS" --runs "$RUNS" || core_status=$?

echo
echo "== 2. perk run end to end: $records records, JSONL in, ledger file out"
# Wall time is what a user waits for; user+sys CPU time is what the run costs, and on a
# machine shared with other work it is the steadier of the two.
TIMEFORMAT='%R %U %S'
first_ledger=""
for engine in $E2E_ENGINES; do
  ledger="$OUT/ledger_e2e_${engine}.jsonl"
  rejects="$OUT/rejects_e2e_${engine}.jsonl"
  times="$( { time "$PERK" run bench/forex.perk --events "$EVENTS" --ledger "$ledger" --rejects "$rejects" \
    --engine "$engine" 2>"$OUT/run_${engine}.err"; } 2>&1 )" || {
    echo "run_core: perk run --engine $engine failed:" >&2
    tail -n 20 "$OUT/run_${engine}.err" >&2
    exit 1
  }
  read -r real user sys <<<"$times"
  awk -v n="$records" -v e="$engine" -v r="$real" -v u="$user" -v s="$sys" 'BEGIN {
    cpu = u + s
    printf "  perk run --engine %-6s %6.2f s wall = %9.0f events/s; %6.2f s CPU = %9.0f events/s (target: >= 1000000)\n",
      e, r, n / r, cpu, n / cpu }'
  echo "    $(tr '\n' ' ' <"$OUT/run_${engine}.err")"
  if [ -z "$first_ledger" ]; then
    first_ledger="$ledger"
  elif cmp -s "$first_ledger" "$ledger"; then
    echo "    ledger identical to $(basename "$first_ledger")"
  else
    echo "    LEDGER DIFFERS from $(basename "$first_ledger")"
    core_status=1
  fi
done

echo
echo "== 3. load of a $RULES-rule program (build/jit_load; the default JIT is IR O2, or light above 256 functions; codegen O0)"
"$JIT_LOAD" "$PROGRAM" 9
echo "(targets, issue 19: load < 100 ms cold, < 20 ms from the object cache)"

echo
echo "== 4. expression evaluation alone (build/expr: no engine loop, state or ledger; not a target)"
"$BUILD/expr" --program bench/forex.perk --events "$EVENTS" --records 200000 --runs "$RUNS" || core_status=$?
echo
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
exit "$core_status"
