#!/usr/bin/env bash
# The figures of docs/reference.md, in the order they were run. Every unit is resumable (rerun to
# continue); results in docs/results/reference (results.jsonl, predictions/), tables printed by
# `python benchmarks/reference.py --table` (also written to docs/results/reference/tables.md).
set -euo pipefail
cd "$(dirname "$0")/.."
run() { python benchmarks/reference.py "$@"; }
T=../shared/data/roadmap-expression/rpkm.tsv.gz
# 1. roadmap-e012, classification: histone-only, the prior, marks + prior (3 seeds)
run --cells roadmap-e012 --tasks classification --models attentivechrome,gbt,prior,linear,deepchrome --references none,new-cell --seeds 1,2,3
# 2. roadmap-e012, regression and the cell-specific part (deviation)
run --cells roadmap-e012 --tasks regression,deviation --models attentivechrome,gbt,prior,linear,deepchrome --references none,new-cell --seeds 1,2,3
# 3. the four-mark cells, classification (roadmap-e087: 3 seeds; roadmap-e028: seed 1 first, seeds 2-3 in step 8)
run --cells roadmap-e087 --tasks classification --models attentivechrome,gbt,prior,deepchrome --references none,new-cell --seeds 1,2,3
# 4. a new cell: trained on roadmap-e012 (its marks that the target has), scored on the four-mark cells with their own prior
run --cells roadmap-e087,roadmap-e028 --tasks classification --models attentivechrome,gbt,prior --references new-cell --seeds 1 --transfer-from roadmap-e012
run --cells roadmap-e028 --tasks classification --models attentivechrome,gbt,prior,deepchrome --references none,new-cell --seeds 1
# 5. the within-cell ceiling: every other cell's expression as a feature, without (prior) and with marks
run --cells roadmap-e012 --tasks classification,regression --models prior,gbt,attentivechrome --references fitted --seeds 1,2,3
# 6. without the ES-related references in any prior
run --cells roadmap-e012 --tasks classification --models attentivechrome,gbt,prior --references none,new-cell --seeds 1 --exclude es
run --cells roadmap-e012 --tasks classification --models attentivechrome,gbt,prior --references new-cell --seeds 2,3 --exclude es
# 7. speed: seconds per epoch with and without the prior, in one run
python benchmarks/reference_speed.py --models attentivechrome,deepchrome --epochs 2 --rounds 2
# 8. more seeds of the four-mark cells
run --cells roadmap-e028,roadmap-e087 --tasks classification --models attentivechrome,gbt,prior,deepchrome --references none,new-cell --seeds 2,3
# 8b. the four-mark cells, regression and the cell-specific part
run --cells roadmap-e087,roadmap-e028 --tasks regression,deviation --models attentivechrome,gbt,prior,deepchrome --references none,new-cell --seeds 1,2,3
# 9. explaining the cell-specific part: a deviation model of roadmap-e087, and why 200 genes differ between E012 and E087
#    (the 200 test genes whose observed log1p expression differs most between the two cells)
attentivechrome train ../shared/data/roadmap-e087 --out runs/e087-deviation --task deviation --reference-expression $T --overwrite
python - <<'EOF'
import numpy as np, pandas as pd
a = pd.read_csv("../shared/data/roadmap-e012/expression.csv", header=None, index_col=0)[1]
b = pd.read_csv("../shared/data/roadmap-e087/expression.csv", header=None, index_col=0)[1]
test = pd.read_csv("../shared/data/roadmap-e087/test.csv.gz", usecols=[0]).iloc[:, 0].unique()
difference = (np.log1p(a) - np.log1p(b)).reindex(test).dropna()
open("runs/contrast-genes.txt", "w").write("\n".join(difference.abs().sort_values(ascending=False).index[:200]) + "\n")
EOF
attentivechrome interpret --model runs/e087-deviation --contrast ../shared/data/roadmap-e012/test.csv.gz ../shared/data/roadmap-e087/test.csv.gz \
  --genes-file runs/contrast-genes.txt --n-steps 64 --out runs/e012-vs-e087 --overwrite
cp runs/e012-vs-e087/contrast_profiles.png docs/images/reference-contrast-e012-e087.png
python benchmarks/reference.py --table > docs/results/reference/tables.md
