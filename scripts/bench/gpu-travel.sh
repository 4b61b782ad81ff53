#!/usr/bin/env bash
# What a device call sends: the tracked and untracked-not-ignored files plus the carried .gpu pack, at most 64 MiB in
# all (/work/.library/device/README.md, "Limits"). oneDNN's prebuilt library (packages/native-cpu-linux-x64-gnu,
# 40 MB, used only by the CPU backend) and the pack (about 52 MB) do not fit together, so around a device call:
#   bash scripts/bench/gpu-travel.sh hide      # the library leaves the index (the file stays on disk) and is ignored
#   ... run(command='bash scripts/bench/gpu-device.sh .gpu $OUT ...', carry=['.gpu']) ...
#   bash scripts/bench/gpu-travel.sh restore   # back in the index; do this before any commit
#   bash scripts/bench/gpu-travel.sh size      # what would travel now, in MiB
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
lib=packages/native-cpu-linux-x64-gnu/libdnnl.so.2
exclude=$(git rev-parse --git-path info/exclude)

size() {
  local bytes
  bytes=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 -r du -cb 2>/dev/null | awk '$2 == "total" { s += $1 } END { print s + 0 }')
  local pack=0
  [ -d .gpu ] && pack=$(du -sb .gpu | cut -f1)
  awk -v t="$bytes" -v p="$pack" 'BEGIN { m = 1048576; printf "working tree %.1f MiB + .gpu %.1f MiB = %.1f MiB of 64 MiB%s\n", t / m, p / m, (t + p) / m, (t + p > 64 * m ? " (TOO LARGE)" : "") }'
}

case "${1:-size}" in
  hide)
    git rm -q --cached "$lib"
    grep -qxF "/$lib" "$exclude" 2>/dev/null || echo "/$lib" >> "$exclude"
    echo "hid $lib (restore before committing: bash scripts/bench/gpu-travel.sh restore)"
    size
    ;;
  restore)
    sed -i "\#^/$lib\$#d" "$exclude"
    git reset -q -- "$lib"
    git ls-files --error-unmatch "$lib" > /dev/null && echo "$lib is tracked again"
    size
    ;;
  size) size ;;
  *) echo "usage: gpu-travel.sh hide|restore|size" >&2; exit 2 ;;
esac
