#!/usr/bin/env bash
# The ONE device call of issue 6: distil MicroAST into the AdaIN student on the GPU, evaluate, hand back files.
#
# Here, before the call:   bash scripts/prepare_devdata.sh        (builds the ignored devdata/, checks 64 MiB)
# The call (device tool):  run(command="bash scripts/device_distill.sh", carry=["devdata"], timeout_s=600)
#
# It resumes from the student in models/ when there is one (Adam restarts), trains for TRAIN_SECONDS (default
# 450 s; bf16 autocast + torch.compile, batch 16 of 256-px crops), stops itself, evaluates on devdata/eval and
# writes into $OUT (7 files, each < 16 MiB; nothing else needs to come back):
#   adain-live-student-encoder.safetensors, adain-live-student-decoder.safetensors  (fp16, ~7 MB each)
#   MANIFEST.json          (sha256, command, data, iterations, device, teacher agreement, 720p speed)
#   distill_grid.jpg, distill_grid_alpha.jpg, log.csv, run.log
# Afterwards, here: if MANIFEST.json's teacher_agreement.psnr_db beats models/MANIFEST.json's, copy the two
# safetensors + MANIFEST.json into models/ and the two JPEGs into docs/, and commit (see models/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?OUT is not set: run this through the device tool, or set OUT=some/folder}"
TRAIN_SECONDS="${TRAIN_SECONDS:-450}"
BATCH="${BATCH:-16}"
CROP="${CROP:-256}"
PY="${PYTHON:-python3}"
# for a CPU dry run here: DEVICE=cpu PRECISION=fp32 COMPILE= SPEED_RUNS=0 EVAL_DIR=<small copy> TRAIN_SECONDS=20
DEVICE="${DEVICE:-cuda}"
PRECISION="${PRECISION:-bf16}"
COMPILE="${COMPILE---compile}"
SPEED_RUNS="${SPEED_RUNS:-50}"
EVAL_DIR="${EVAL_DIR:-devdata/eval}"
export PYTHONUNBUFFERED=1
if [ ! -d devdata/train/content ] || [ ! -f devdata/microast/decoder_iter_160000.pth.tar ]; then
    echo "error: devdata/ is missing; run scripts/prepare_devdata.sh here and name devdata in carry" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

init=()
if [ -f models/adain-live-student-encoder.safetensors ]; then init=(--init models); fi
set -o pipefail
"$PY" -m training.distill --content-dir devdata/train/content --style-dir devdata/train/style \
    --teacher devdata/microast --out "${RUN_DIR:-runs/device}" --batch "$BATCH" --crop "$CROP" --lr 2e-4 \
    --device "$DEVICE" --precision "$PRECISION" $COMPILE --time-limit "$TRAIN_SECONDS" --eval-every 500 \
    --checkpoint-every 1e9 --status gpu --note "device session run of scripts/device_distill.sh" \
    "${init[@]}" 2>&1 | tee "$OUT/run.log"

run_dir="${RUN_DIR:-runs/device}"
cp "$run_dir"/export/adain-live-student-encoder.safetensors "$run_dir"/export/adain-live-student-decoder.safetensors \
    "$run_dir"/export/MANIFEST.json "$run_dir"/log.csv "$OUT/"
"$PY" -m training.evaluate --student "$OUT" --teacher devdata/microast --eval-dir "$EVAL_DIR" \
    --grid "$OUT/distill_grid.jpg" --manifest "$OUT/MANIFEST.json" --speed-runs "$SPEED_RUNS" --device "$DEVICE" \
    2>&1 | tee -a "$OUT/run.log"
ls -la "$OUT"
