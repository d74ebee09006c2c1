#!/usr/bin/env bash
# What the HTTP layer of `goodput-lab serve` costs: requests/s with 1 000 streams at once, and
# per request, the TTFT and end-to-end latency a client measures (bench --target) minus what
# the engine recorded for the same request (serve --request-log). tiny on synthetic weights,
# so the engine's own steps are small and the HTTP layer shows. Needs python3 for the join.
# Usage: scripts/http-overhead.sh   (after cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/goodput-lab
dir=$(mktemp -d)
port=${PORT:-8931}
$bin serve --model tiny --synthetic --mode chunked --port "$port" --request-log "$dir/engine.jsonl" \
  >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q serving "$dir/serve.log" && break; sleep 0.1; done
url=http://127.0.0.1:$port
# 1. Latency at a light load (one request at a time in flight, mostly): 200 requests, 20/s.
$bin bench --target $url --num-requests 200 --request-rate 20 --prompt-len 32 --output-len 16 \
  --tokenizer tiny --seed 1 --json "$dir/light.json" >/dev/null
python3 - "$dir/light.json" "$dir/engine.jsonl" <<'PY'
import json, sys
client = json.load(open(sys.argv[1]))
reqs = sorted(client["modes"][0]["requests"], key=lambda r: r["id"])
eng = sorted((json.loads(l) for l in open(sys.argv[2])), key=lambda r: r["id"])
assert len(reqs) == len(eng) == client["completed"], (len(reqs), len(eng))
def pct(v, q):
    v = sorted(v); return v[min(len(v) - 1, int(q * len(v)))]
for key in ("ttft_ms", "e2el_ms"):
    d = [c[key] - e[key] for c, e in zip(reqs, eng)]
    print(f"{key[:-3]:5} added by HTTP: p50 {pct(d, .5):.3f} ms, p99 {pct(d, .99):.3f} ms, max {max(d):.3f} ms"
          f" (client p50 {pct([c[key] for c in reqs], .5):.3f}, engine p50 {pct([e[key] for e in eng], .5):.3f})")
PY
# 2. Throughput: 1 000 requests at once, all in flight together.
$bin bench --target $url --num-requests 1000 --request-rate inf --prompt-len 16 --output-len 8 \
  --tokenizer tiny --seed 2 --json "$dir/burst.json" >/dev/null
python3 -c "import json,sys; v=json.load(open(sys.argv[1])); print(f\"1000 streams at once: {v['completed']} completed, {v['failed']} failed, {v['request_throughput']:.0f} requests/s, {v['output_throughput']:.0f} tokens/s\")" "$dir/burst.json"
