#!/usr/bin/env bash
# One short device check for training/ (run from the repository root on a CUDA machine, ~5-8 minutes):
# the GPU tests, then it/s at batch 8, 256² crops: eager bf16, compiled bf16, and with the real data path.
set -u
export PYTHONPATH=.
PY=${PY:-python}
DATA=${DATA:-../shared/data/train}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
timeout 240 $PY -m pytest tests/training -q -m gpu -p no:cacheprovider 2>&1 | tail -5
timeout 120 $PY benchmarks/bench_train.py --device cuda --precision bf16 --iterations 50 --warmup 10
timeout 300 $PY benchmarks/bench_train.py --device cuda --precision bf16 --compile --iterations 100 --warmup 20
timeout 180 $PY benchmarks/bench_train.py --device cuda --precision bf16 --compile --iterations 100 --warmup 20 \
    --content-dir "$DATA/content" --style-dir "$DATA/style"
timeout 60 $PY benchmarks/bench_train.py --device cuda --data-only --iterations 200 \
    --content-dir "$DATA/content" --style-dir "$DATA/style"
