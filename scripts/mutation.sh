#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the modules where a silent error hurts users most, each with its fast tests.
# Not part of CI. Usage: scripts/mutation.sh [NAME ...]   (default: every target below)
# Needs: pip install 'mutmut>=3,<4'. Each target runs in its own scratch copy under ${MUTATION_DIR:-/tmp/adain-mutation}
# (mutmut reads its settings from pyproject.toml and writes mutants/ next to it); the kill rate per module is
# printed and collected in $MUTATION_DIR/summary.txt. Survivors: `cd $MUTATION_DIR/NAME && mutmut results`,
# `mutmut show MUTANT`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
py=${PYTHON:-$repo/.venv/bin/python}
out=${MUTATION_DIR:-/tmp/adain-mutation}
mkdir -p "$out"

# name | module to mutate | its fast tests (space separated; pytest options such as --deselect=NODE allowed).
# Left out: CLI tests that load a model (the canonical VGG one takes 5 min under load; the same jobs are covered
# in-process with a stand-in pipeline) and the SIGTERM test (a subprocess, which mutmut cannot map to a mutant).
targets=(
  "stats|adain_live/core/stats.py|tests/unit/test_stats.py tests/unit/test_stats_edge_cases.py tests/unit/test_model.py"
  "microast|adain_live/core/microast.py|tests/unit/test_microast.py tests/unit/test_microast_contract.py"
  "audio|adain_live/media/audio.py|tests/media/test_audio_reencode.py tests/media/test_damaged_audio_tracks.py tests/media/test_damaged_audio.py tests/media/test_audio_convert.py tests/engine/test_video_job.py tests/media/test_recorder.py --deselect=tests/media/test_damaged_audio.py::test_video_cli_stylizes_it_without_that_audio"
  "video_job|adain_live/engine/video_job.py|tests/engine/test_video_job_outcomes.py tests/engine/test_video_job.py tests/engine/test_video_reliability.py --deselect=tests/engine/test_video_reliability.py::test_truncated_input_keeps_output_says_n_of_m_and_exits_1 --deselect=tests/engine/test_video_reliability.py::test_sigterm_is_handled_like_ctrl_c"
  "checkpoint|training/checkpoint.py|tests/training/test_checkpoint.py tests/training/test_checkpoint_messages.py"
)
want=("$@")

for t in "${targets[@]}"; do
  IFS='|' read -r name module tests <<<"$t"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  if [ ! -f "$module" ]; then echo "skip $name: $module not in this tree"; continue; fi
  dir="$out/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  git ls-files -z | (cd "$repo" && xargs -0 cp --parents -t "$dir")
  top=${module%%/*}
  sel=$(printf '"%s", ' $tests)
  cat >>"$dir/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["$top"]
only_mutate = ["$module"]
also_copy = ["models"]
pytest_add_cli_args = ["-p", "no:randomly", "-q", "-x"]
pytest_add_cli_args_test_selection = [${sel%, }]
TOML
  echo "== $name: $module with $tests"
  (cd "$dir" && OMP_NUM_THREADS=1 "$py" -m mutmut run --max-children "${MUTATION_JOBS:-2}" >"$dir/run.log" 2>&1 || true
   "$py" -m mutmut export-cicd-stats >/dev/null 2>&1 || true)
  "$py" - "$name" "$dir/mutants/mutmut-cicd-stats.json" <<'PY' | tee -a "$out/summary.txt"
import json, sys
name, path = sys.argv[1], sys.argv[2]
try:
    s = json.load(open(path))
except OSError:
    print(f"{name}: no results (see run.log)"); sys.exit()
killed = s.get("killed", 0) + s.get("timeout", 0)
total = killed + s.get("survived", 0) + s.get("no_tests", 0)
rate = 100 * killed / total if total else 0
print(f"{name}: {killed}/{total} mutants killed ({rate:.0f} %), survived {s.get('survived', 0)}, "
      f"no tests {s.get('no_tests', 0)}, suspicious {s.get('suspicious', 0)}")
PY
done
