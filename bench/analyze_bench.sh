#!/usr/bin/env bash
# Times `perk analyze` on the generated 200-rule program (bench/gen_program.py): the median of
# BENCH_RUNS (5) wall times, with the report's query count. Environment: PERK (default
# build/perk), BENCH_RULES (200), BENCH_RUNS (5).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PERK="${PERK:-$ROOT/build/perk}"
RULES="${BENCH_RULES:-200}"
RUNS="${BENCH_RUNS:-5}"
OUT="$ROOT/bench/out"
PROGRAM="$OUT/program_${RULES}.perk"
mkdir -p "$OUT"
if [ ! -s "$PROGRAM" ]; then
  python3 bench/gen_program.py --rules "$RULES" >"$PROGRAM.tmp"
  mv "$PROGRAM.tmp" "$PROGRAM"
fi

times=()
for _ in $(seq "$RUNS"); do
  start=$(date +%s%N)
  "$PERK" analyze "$PROGRAM" >"$OUT/analyze_${RULES}.txt"
  end=$(date +%s%N)
  times+=($(((end - start) / 1000000)))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
echo "perk analyze $PROGRAM: median ${median} ms of ${RUNS} runs (${times[*]} ms)"
tail -n 1 "$OUT/analyze_${RULES}.txt"
