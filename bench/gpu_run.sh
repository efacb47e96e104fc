#!/usr/bin/env bash
# Run the speed benchmarks on a machine with an NVIDIA GPU (never needed by tests or CI).
#
# On a GPU, sentence-transformers (torch) puts the bi-encoder and the cross-encoder on CUDA by itself,
# and ONNX Runtime sessions use the CUDA execution provider when the onnxruntime-gpu wheel is
# installed (reranklens.models.onnx.ort_providers). This script prints what it found, then runs
# bench/embed_bench.py (plain vs ONNX fp32 vs int8), bench/scale_bench.py and bench/query_cold.py
# with results under ${OUT:-bench-gpu-results}/.
#
#   bash bench/gpu_run.sh            # from the repository root; SCALE_CHUNKS=200000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
out="${OUT:-bench-gpu-results}"
mkdir -p "$out"
python - <<'PY' | tee "$out/devices.txt"
import onnxruntime, torch
print("torch", torch.__version__, "cuda:", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
print("onnxruntime", onnxruntime.__version__, "providers:", onnxruntime.get_available_providers())
PY
python bench/embed_bench.py --docs 1000 --queries 60 --json "$out/embed.json" | tee "$out/embed.txt"
python bench/scale_bench.py --chunks "${SCALE_CHUNKS:-200000}" --json "$out/scale.json" | tee "$out/scale.txt"
python bench/query_cold.py --rounds 3 --json "$out/cold.json" | tee "$out/cold.txt"
