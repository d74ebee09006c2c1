#!/usr/bin/env bash
# The CUDA backend's acceptance check on a machine with an NVIDIA GPU: runs the prebuilt
# release binary (no Rust toolchain, no network needed there) and prints one report:
# GPU vs CPU accuracy on tiny and SmolLM2, Llama-2-13B-shape step times, roofline figures and
# the interference table. Budget: 8 minutes on an H100.
#
#   cargo build --release -p app        # on the build machine, then copy the tree over
#   scripts/gpu-check.sh [extra gpu-check flags, e.g. --device cuda:1 --json out.json]
#
# CUDA libraries: the driver's libcuda, plus NVRTC and cuBLAS 13 (or 12) from a CUDA toolkit
# or from pip wheels such as PyTorch's (site-packages/nvidia/cu13/lib), found via python3.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${GOODPUT_LAB_BIN:-target/release/goodput-lab}"
if [[ ! -x "$BIN" ]]; then
  echo "error: $BIN not found; build it first with: cargo build --release -p app" >&2
  exit 1
fi

source scripts/cuda-env.sh

echo "binary:    $BIN"
echo "lib dirs:  ${libpath:-<none found; relying on the system loader path>}"
command -v nvidia-smi >/dev/null 2>&1 &&
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if [[ ! -f models/SmolLM2-135M-Instruct.Q4_1.gguf && -z "${GOODPUT_LAB_MODELS:-}" ]]; then
  echo "note: models/SmolLM2-135M-Instruct.Q4_1.gguf missing: SmolLM2 is checked on synthetic weights"
fi
date -u +"started %Y-%m-%dT%H:%M:%SZ"

# 8 minutes is the budget; stop a hung run rather than wait forever.
timeout 480 "$BIN" gpu-check "$@"
