#!/usr/bin/env bash
# The main job on the bundled defaults: build, then run the engine on the bundled real model
# (stories260K, llama2.c format): greedy generation from BOS, sampling from a prompt, per-token
# scoring with RPT's top-16 entropy, tokenization with the bundled Qwen tokenizer, and a short
# next-token training run whose checkpoint then generates, then RPT data preparation and GRPO steps.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RPT=.build/release/rpt
M=Assets/stories260K
set -x
$RPT generate --model $M/stories260K.bin --tokenizer $M/tok512.bin --prompt "" --max-tokens 120
$RPT generate --model $M/hf --tokenizer $M/tok512.bin --prompt "Once upon a time, Tom" --max-tokens 60 --temperature 0.8 --top-p 0.95 --seed 7
$RPT score --model $M/stories260K.bin --tokenizer $M/tok512.bin --text "The cat sat on the mat."
$RPT tokenize --tokenizer Assets/qwen2-tokenizer/tokenizer.json --text "Reinforcement Pre-Training: predict the next token, then \\boxed{ it}."
# a short next-token training run with a checkpoint, then generation from that checkpoint
rm -rf runs/demo-pretrain
$RPT pretrain --model $M/hf --data Assets/tinystories-sample/TinyStories-valid-sample.txt --delimiter '\n' \
    --out runs/demo-pretrain --steps 30 --seq-len 128 --batch-size 4 --lr 1e-3 --eval-every 10 --save-every 30 --log-every 5
$RPT generate --model runs/demo-pretrain/step-000030 --prompt "Once upon a time" --max-tokens 40
# the RPT workflow in miniature: entropy-filtered positions from Omni-MATH, then two GRPO steps
# (stories260K cannot box an answer yet, so its rewards are 0: this shows the machinery, not learning)
head -12 Assets/omni-math-sample/omni_math.jsonl > runs/demo-omni.jsonl
rm -rf runs/demo-prep runs/demo-rpt
$RPT prepare --policy $M/hf --proxy $M/hf --corpus runs/demo-omni.jsonl --text-template '{problem}\n\n{solution}' \
    --val-docs 2 --max-positions-per-doc 20 --out runs/demo-prep
$RPT prepare --stats runs/demo-prep
$RPT train --model $M/hf --data runs/demo-prep/train.jsonl --out runs/demo-rpt --steps 2 --batch-size 2 --group-size 4 \
    --max-prompt-tokens 384 --max-response-tokens 48 --save-every 2
