#!/usr/bin/env bash
# The figures of docs/reference.md: every unit is resumable (rerun to continue), results in docs/results/reference.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { python benchmarks/reference.py "$@"; }
# 1. roadmap-e012, classification: histone-only, the prior, marks + prior (3 seeds)
run --cells roadmap-e012 --tasks classification --models attentivechrome,gbt,prior,linear,deepchrome --references none,new-cell --seeds 1,2,3
# 2. roadmap-e012, regression and deviation
run --cells roadmap-e012 --tasks regression,deviation --models attentivechrome,gbt,prior,linear,deepchrome --references none,new-cell --seeds 1,2,3
# 3. the four-mark cells, classification
run --cells roadmap-e087,roadmap-e028 --tasks classification --models attentivechrome,gbt,prior,deepchrome --references none,new-cell --seeds 1,2,3
# 4. the within-cell ceiling: every other cell's expression as a feature, without and with marks
run --cells roadmap-e012 --tasks classification,regression --models prior,gbt,attentivechrome --references fitted --seeds 1,2,3
# 5. without the ES-related references in any prior
run --cells roadmap-e012 --tasks classification --models attentivechrome,gbt,prior --references none,new-cell --seeds 1,2,3 --exclude es
# 6. the four-mark cells, regression and deviation
run --cells roadmap-e087,roadmap-e028 --tasks regression,deviation --models attentivechrome,gbt,prior --references none,new-cell --seeds 1,2,3
