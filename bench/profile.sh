#!/usr/bin/env bash
# Profiles with perf where the time of issue 3's figures goes, and sums each profile into
# categories (bench/perf_categories.py):
#   1. build/core, events only (day ticks not sampled), engine PROFILE_ENGINE (jit);
#   2. build/core, day ticks only;
#   3. `perk run --engine PROFILE_ENGINE` end to end.
# Run bench/run_core.sh first (it generates the inputs). Environment: PERK (build/perk),
# PROFILE_ENGINE (jit), PROFILE_FREQ (999 samples/s), BENCH_RECORDS/CLIENTS/DAYS as run_core.sh.
# perf.data files stay in bench/out/ for `perf report -i` / `perf annotate -i`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PERK="${PERK:-$ROOT/build/perk}"
CORE="$(dirname "$PERK")/core"
ENGINE="${PROFILE_ENGINE:-jit}"
FREQ="${PROFILE_FREQ:-999}"
OUT="$ROOT/bench/out"
EVENTS="$OUT/events_${BENCH_RECORDS:-1000000}_${BENCH_CLIENTS:-100000}_${BENCH_DAYS:-60}.jsonl"
if [ ! -s "$EVENTS" ]; then
  echo "profile: $EVENTS is missing; run bench/run_core.sh first" >&2
  exit 1
fi
command -v perf >/dev/null || { echo "profile: perf is not installed" >&2; exit 1; }

FIFO_DIR="$(mktemp -d)"
trap 'rm -rf "$FIFO_DIR"' EXIT
mkfifo "$FIFO_DIR/ctl" "$FIFO_DIR/ack"

for part in events ticks; do
  data="$OUT/perf_core_${ENGINE}_${part}.data"
  echo "== build/core --engines $ENGINE, $part only ($data)"
  perf record -q -F "$FREQ" -D -1 --control "fifo:$FIFO_DIR/ctl,$FIFO_DIR/ack" -o "$data" -- \
    "$CORE" --engines "$ENGINE" --runs 1 --events "$EVENTS" --perf-ctl "$FIFO_DIR/ctl,$FIFO_DIR/ack" \
    --perf-part "$part" | grep -E "ns/event"
  python3 bench/perf_categories.py "$data"
  echo
done

data="$OUT/perf_run_${ENGINE}.data"
echo "== perk run --engine $ENGINE end to end ($data)"
perf record -q -F "$FREQ" -o "$data" -- "$PERK" run bench/forex.perk --events "$EVENTS" \
  --ledger "$OUT/ledger_profile.jsonl" --rejects "$OUT/rejects_profile.jsonl" --engine "$ENGINE"
python3 bench/perf_categories.py "$data"
