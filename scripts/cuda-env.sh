# Sourced by the GPU scripts: finds NVRTC and cuBLAS (a CUDA toolkit, or pip's NVIDIA wheels
# such as PyTorch's site-packages/nvidia/cu13/lib) and exports the engine's library path.
libdirs=""
if command -v python3 >/dev/null 2>&1; then
  libdirs="$(python3 - <<'PY' 2>/dev/null || true
import os
try:
    import nvidia
except ImportError:
    raise SystemExit
for p in nvidia.__path__:
    for sub in ("cu13", "cu12", "cuda_nvrtc", "cublas"):
        d = os.path.join(p, sub, "lib")
        if os.path.isdir(d):
            print(d)
PY
)"
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [[ -d "$d" ]] && libdirs="$libdirs"$'\n'"$d"
done
libpath="$(printf '%s\n' "$libdirs" | sed '/^$/d' | paste -sd: -)"
export GOODPUT_LAB_CUDA_LIB_DIR="$libpath"
export LD_LIBRARY_PATH="${libpath}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
