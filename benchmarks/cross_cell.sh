#!/usr/bin/env bash
# The cross-cell matrices of docs/cross-cell.md on the three shared full cells (hours on 2 cores).
# Resumable: rerun the script and every finished training is skipped (runs/*/seed-*/result.json).
# Usage: bash benchmarks/cross_cell.sh [OUT_ROOT]   (default: cross-cell-runs/ beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${ATTENTIVECHROME_SHARED_DATA:-../shared/data}
OUT=${1:-../cross-cell-runs}
CELLS="$DATA/roadmap-e012 $DATA/roadmap-e028 $DATA/roadmap-e087"
JOBS=${JOBS:-2}
run() {  # name, then options; the original training settings (--preset original) otherwise
    local name=$1; shift
    echo "=== $(date -u +%FT%TZ) $name: $*"
    attentivechrome benchmark --cross-cell $CELLS --out "$OUT/$name" --seeds 1 --jobs "$JOBS" --device cpu --quiet --preset original "$@" || echo "=== $name: exit $?"
}
run defaults --no-pooled
run depth-dropout0.2 --normalize depth --mark-dropout 0.2
run depth --normalize depth --no-pooled
run quantile-dropout0.2 --normalize quantile --mark-dropout 0.2
run none-dropout0.2 --mark-dropout 0.2
run depth-dropout0.5 --normalize depth --mark-dropout 0.5 --no-pooled
echo "=== $(date -u +%FT%TZ) all done"
