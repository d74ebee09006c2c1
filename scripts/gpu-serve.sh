#!/usr/bin/env bash
# `serve` on a GPU, end to end over HTTP: each mode of Llama-2-13B's shape (synthetic weights,
# 2 logical GPUs time-sharing the card) behind the OpenAI API, DistServe Fig. 1's workload sent
# by `bench --target` (prompt 512, output 64, SLO TTFT 400 ms / TPOT 40 ms), then a client that
# hangs up mid-stream, which must leave no KV block in use.
#   scripts/gpu-serve.sh            (env: MODEL, DEVICE, RATE, N, OUT, GOODPUT_LAB_BIN)
# The byte-level tokenizer of synthetic weights is `tiny`'s too, so `--tokenizer tiny` gives
# exact prompt lengths here.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${GOODPUT_LAB_BIN:-target/release/goodput-lab}"
source scripts/cuda-env.sh
model=${MODEL:-llama-2-13b}
device=${DEVICE:-cuda}
rate=${RATE:-6}
n=${N:-60}
out=${OUT:-$(mktemp -d)}
port=${PORT:-8000}
url=http://127.0.0.1:$port
for mode in aggregated chunked disaggregated; do
  log="$out/serve-$mode.log"
  "$BIN" serve --model "$model" --synthetic --device "$device" --mode "$mode" --gpus 2 \
    --port "$port" --request-log "$out/engine-$mode.jsonl" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 900); do
    grep -q serving "$log" && break
    kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.2
  done
  echo "== $mode: $(grep serving "$log")"
  "$BIN" bench --target "$url" --num-requests "$n" --request-rate "$rate" --prompt-len 512 \
    --output-len 64 --tokenizer tiny --slo-ttft-ms 400 --slo-tpot-ms 40 --seed 1 \
    --json "$out/bench-$mode.json" 2>&1 | grep -v '^benchmarking'
  curl -s "$url/v1/chat/completions" -d '{"messages": [{"role": "user", "content": "Hi"}],
    "max_tokens": 4}' | head -c 300; echo
  # A client that hangs up after a second of a long stream.
  timeout 1 curl -sN "$url/v1/completions" \
    -d '{"prompt": "hello", "max_tokens": 900, "stream": true, "ignore_eos": true}' >/dev/null || true
  sleep 1
  curl -s "$url/metrics" | grep -E '^(vllm:kv_cache_usage_perc|vllm:num_requests_running|vllm:request_success_total|goodput_lab:request_aborted_total)'
  kill -INT $pid
  wait $pid || true
done
