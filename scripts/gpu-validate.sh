#!/usr/bin/env bash
# The modeled clock against a GPU (issue #11): calibrate the cost model on this GPU with
# Llama-2-13B's shape (synthetic bf16 weights, no download), then `validate` measured vs
# calibrated modeled on DistServe Fig. 1's request shape (prompt 512, output 64, SLO TTFT 400 ms /
# TPOT 40 ms; chunked at validate's default budget of 64 tokens) at 12 and 24 req/s, each
# measured twice (the GPU's own run-to-run spread).
# About 2.5 minutes on an H100.
#   scripts/gpu-validate.sh            (env: MODEL, DEVICE, N, REPEATS, OUT, GOODPUT_LAB_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."
B="${GOODPUT_LAB_BIN:-target/release/goodput-lab}"
model=${MODEL:-llama-2-13b}
dev=${DEVICE:-cuda}
n=${N:-80}
out=${OUT:-$(mktemp -d)}
source scripts/cuda-env.sh
command -v nvidia-smi >/dev/null 2>&1 &&
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
echo "writing to $out"
# Progress lines (`[…]`) go to stderr; the tables to stdout and the logs.
timeout 150 "$B" calibrate --model "$model" --synthetic --device "$dev" --hardware h100 \
  --out "$out/calibrated.ron" | tee "$out/calibrate.log"
common=(--model "$model" --synthetic --device "$dev" --hardware "$out/calibrated.ron" --gpus 2
  --prompt-len 512 --output-len 64 --slo-ttft-ms 400 --slo-tpot-ms 40 --num-requests "$n"
  --token-budget 64 --seed 1 --repeats "${REPEATS:-2}")
for rate in 12 24; do
  timeout 170 "$B" validate "${common[@]}" --request-rate $rate --json "$out/validate-$rate.json" |
    tee "$out/validate-$rate.log"
done
