#!/usr/bin/env bash
# The headline benchmark of docs/benchmarks.md: every model, 3 seeds, on the full cell roadmap-e012,
# classification then regression (log RPKM + 1), each model with its default settings.
# Hours on 2 cores; resumable: rerun the script and every finished run is skipped.
# Usage: bash benchmarks/headline.sh [OUT_ROOT]   (default: headline-runs/ beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${ATTENTIVECHROME_SHARED_DATA:-../shared/data}
OUT=${1:-../headline-runs}
JOBS=${JOBS:-2}
for task in classification regression; do
    echo "=== $(date -u +%FT%TZ) $task"
    attentivechrome benchmark "$DATA/roadmap-e012" --models all --seeds 3 --task "$task" --jobs "$JOBS" --device cpu --quiet \
        --out "$OUT/$task" || echo "=== $task: exit $?"
done
echo "=== $(date -u +%FT%TZ) all done"
