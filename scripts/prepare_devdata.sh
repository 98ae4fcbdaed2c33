#!/usr/bin/env bash
# Build devdata/ (git-ignored) for the GPU call of scripts/device_distill.sh: the training images, the eval
# images and the MicroAST teacher files, copied from ../shared (nothing is downloaded on the device).
# The device tool carries at most 64 MiB (working tree + carried paths); this checks that before you call it.
#
#   bash scripts/prepare_devdata.sh            # SHARED=/path/to/shared to read another copy
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
LIMIT=$((64 * 1024 * 1024))

for need in "$SHARED/data/train/content" "$SHARED/data/train/style" "$SHARED/data/eval/content" \
            "$SHARED/data/eval/style" "$SHARED/teachers/microast/decoder_iter_160000.pth.tar"; do
    [ -e "$need" ] || { echo "error: $need is missing; set SHARED to the shared folder" >&2; exit 2; }
done
rm -rf devdata
mkdir -p devdata/train devdata/eval devdata/microast
git check-ignore -q devdata/ || { echo "error: devdata/ is not git-ignored; add it to .gitignore" >&2; exit 2; }
cp -r "$SHARED/data/train/content" "$SHARED/data/train/style" devdata/train/
cp -r "$SHARED/data/eval/content" "$SHARED/data/eval/style" devdata/eval/
cp "$SHARED"/teachers/microast/*.pth.tar "$SHARED/teachers/microast/LICENSE" devdata/microast/
chmod -R u+w devdata

data_bytes=$(du -sb devdata | cut -f1)
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1)
total=$((data_bytes + tree_bytes))
printf 'devdata: %d MB, working tree: %d MB, total %d MB of the 64 MiB the device call carries\n' \
    $((data_bytes / 1000000)) $((tree_bytes / 1000000)) $((total / 1000000))
if [ "$total" -gt "$LIMIT" ]; then
    echo "error: too large for the device call; remove untracked files or shrink devdata" >&2
    exit 1
fi
echo 'next: run(command="bash scripts/device_distill.sh", carry=["devdata"], timeout_s=600)'
