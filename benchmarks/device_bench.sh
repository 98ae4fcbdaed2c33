#!/usr/bin/env bash
# The one script a session with a GPU runs (issue 7): benchmarks first, then the GPU tests. ≤ 8 minutes.
#
#   OUT=/some/dir bash benchmarks/device_bench.sh        # on the device tool: bash benchmarks/device_bench.sh
#
# Writes at most 6 files into $OUT (the device tool brings back 8): summary.md (every table + step status),
# bench.json (all runs), log.txt (all output), env.txt, gpu_tests.xml, steps.txt.
# Each step has its own time limit, so a slow compile or a hang costs that step only; bench JSON is written
# after every size, so a step cut short keeps the sizes it finished.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/bench_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-/tmp/adain-inductor}"  # never inside $OUT
START=$(date +%s)
LOG="$OUT/log.txt"
: > "$OUT/steps.txt"
BENCH=("$PY" benchmarks/bench_pipeline.py --device cuda)

step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "===== $name (limit ${limit}s) : $*" >> "$LOG"
  local t0=$(date +%s)
  timeout -k 10 "$limit" "$@" >> "$LOG" 2>&1
  local rc=$?
  echo "$name rc=$rc took=$(( $(date +%s) - t0 ))s elapsed=$(( $(date +%s) - START ))s" | tee -a "$OUT/steps.txt"
}

{ nvidia-smi; "$PY" -c "import torch, sys; print(sys.version); print('torch', torch.__version__, 'cuda', \
torch.version.cuda, torch.cuda.get_device_name(0), 'cudnn', torch.backends.cudnn.version())"; } > "$OUT/env.txt" 2>&1

# (1) The issue's table: reference vs ours, fp16 channels_last, compiled per size in the background + CUDA
#     graphs + pinned double-buffered copies; fp16-vs-fp32 PSNR on the demo photo with 3 bundled styles.
step main 250 "${BENCH[@]}" --sizes 512x512,1280x720,1920x1080,3840x2160 --frames 40 \
  --json "$OUT/main.json" --markdown "$OUT/main.md"
# (2) Eager fp16 channels_last, no compile, no graphs: what the levers add (the issue saw eager fp16 ≈ fp32).
step eager 30 "${BENCH[@]}" --sizes 1280x720,1920x1080 --frames 20 --no-compile --no-cuda-graphs \
  --no-reference --no-quality --json "$OUT/eager.json" --markdown "$OUT/eager.md"
# (3) 4K in tiles as on an 8 GB card: peak memory must stay under 8 GiB.
step tiled4k 30 "${BENCH[@]}" --sizes 3840x2160 --frames 5 --warmup 1 --tile 1024 --max-memory-gb 8 \
  --no-compile --no-reference --no-quality --json "$OUT/tiled4k.json" --markdown "$OUT/tiled4k.md"
# (4) Batch-video path: 4 frames per network batch at 1080p (CUDA graphs, eager kernels).
step batch4 30 "${BENCH[@]}" --sizes 1920x1080 --batch 4 --frames 10 --no-compile --no-reference \
  --no-quality --json "$OUT/batch4.json" --markdown "$OUT/batch4.md"
# (5) GPU tests: fp16 ≥ 40 dB, stats once, compiled == eager, graphs follow style/α, no per-frame sync, tiles.
step gpu_tests 110 "$PY" -m pytest -q -p no:cacheprovider tests/gpu --junitxml="$OUT/gpu_tests.xml"

# Merge into summary.md and bench.json, and drop the per-step files (the tool brings back 8 files at most).
"$PY" - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
steps = ["main", "eager", "tiled4k", "batch4"]
merged, md = {}, ["# device_bench.sh", "", "```", (out / "steps.txt").read_text().strip(), "```", ""]
for s in steps:
    j, m = out / f"{s}.json", out / f"{s}.md"
    if j.exists():
        merged[s] = json.loads(j.read_text())
        j.unlink()
    md += [f"## {s}", "", m.read_text() if m.exists() else "(no result: see log.txt)", ""]
    if m.exists():
        m.unlink()
(out / "bench.json").write_text(json.dumps(merged, indent=2))
(out / "summary.md").write_text("\n".join(md))
PYEOF
echo "total $(( $(date +%s) - START ))s" | tee -a "$OUT/steps.txt"
cat "$OUT/summary.md"
