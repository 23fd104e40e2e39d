#!/usr/bin/env bash
# Cooperation benchmark (docs/interpretation.md, "Cooperating marks and position rules"):
# simulate 6,000 genes with the cooperative rules, train AttentiveChrome with seeds 1 and 2
# (the ground-truth benchmark's training command), score every method with interpret-benchmark
# on all 2,000 test genes, and draw the figure. Resumable: a step whose output exists is skipped.
#
#   bash benchmarks/cooperation.sh [OUT]      (default OUT: runs/cooperation)
# AC (default "python -m attentivechrome") and PYTHON (default python) name the commands to run.
set -euo pipefail
OUT=${1:-runs/cooperation}
AC=${AC:-"python -m attentivechrome"}
mkdir -p "$OUT"
[ -f "$OUT/sim/truth.npz" ] || $AC simulate --genes 6000 --rules cooperative --seed 0 --out "$OUT/sim"
for seed in 1 2; do
  [ -f "$OUT/ac-s$seed/model.pt" ] || $AC train "$OUT/sim" --out "$OUT/ac-s$seed" --transform log1p --lr 1e-3 --batch-size 32 --epochs 15 --seed "$seed" --overwrite
  [ -f "$OUT/bench-s$seed/cooperation.csv" ] || $AC interpret-benchmark --data "$OUT/sim" --model "$OUT/ac-s$seed" --out "$OUT/bench-s$seed" --overwrite
done
${PYTHON:-python} benchmarks/cooperation_figure.py "$OUT" --out docs/images/interpretation/cooperation.png
