#!/bin/bash
# Open-QA at the mini preset from the shipped warm start (docs/benchmarks.md, "Open-QA from the warm start").
# Usage: research/qa-mini-seed.sh SEED (writes .scratch/qa-mini/sSEED/).
# One seed: REALM 150 steps from the warm start (the Classroom demo's settings), then fine-tune both it and the warm start (ORQA), then eval:qa.
S=$1; D=.scratch/qa-mini/s$S; mkdir -p $D
npx tsx scripts/train.ts --init public/warmstart/mini/checkpoint --preset mini --corpus public/corpus/tiny --ict-steps 0 --mlm-steps 0 --steps 150 --exclude sentence --tau 4 --retriever-lr-scale 0.1 --seed $S --out $D/pre/ckpt --metrics $D/pre.jsonl > $D/pre.log 2>&1 || exit 1
cp public/warmstart/mini/vocab.txt $D/pre/ 2>/dev/null
for m in realm orqa; do
  from=$D/pre/ckpt; [ $m = orqa ] && from=public/warmstart/mini/checkpoint
  npx tsx scripts/finetune.ts --from $from --qa public/corpus/tiny/qa-train.jsonl --corpus public/corpus/tiny --steps 100 --lr 5e-4 --k 5 --batch 4 --seed $S --out $D/ft-$m > $D/ft-$m.log 2>&1 || exit 2
done
npx tsx scripts/eval-qa.ts --model $D/ft-realm --qa public/corpus/tiny/qa-dev.jsonl --ict-model $D/ft-orqa --pretrained $D/pre/ckpt --json $D/qa.json > $D/eval.log 2>&1 || exit 3
echo done $S
