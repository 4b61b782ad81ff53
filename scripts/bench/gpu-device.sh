#!/usr/bin/env bash
# Runs the pack made by `node scripts/bench/gpu-bundle.mjs .gpu` on a GPU machine that has no package registry:
#   WORDLM_SECONDS=300 RESNET_EPOCH=1 bash scripts/bench/gpu-device.sh .gpu OUTDIR [extra flags for `pnpm bench gpu`]
# The pack and the repo's tracked files together exceed what a device call may send (64 MiB): run
# `bash scripts/bench/gpu-travel.sh hide` before the call and `... restore` after it (see that script).
# 1. the one-GPU device table (`pnpm bench gpu`): our WebGPU backend, eager and compiled, at ResNet-18 batch 64/128/256
#    and the Transformer LM step, vs PyTorch CUDA/CPU, with the GPU time per kernel (gpu-kernels.md);
#    `--seconds 15 --steps 10` caps each row (eager rows are the slow ones) to fit a 10-minute device call;
#    GPU_TABLE=0 skips it (e.g. a call that runs only the epoch of 3.);
# 2. when WORDLM_SECONDS > 0: word_language_model's reference experiment (Transformer, lr 5, 6 epochs) on WebGPU,
#    interrupted (Ctrl-C semantics: the best model is kept and tested) when the time is up; then 1,000 words from it;
# 3. when RESNET_EPOCH=1: one full epoch of ResNet-18 on WebGPU (compiled step and compiled validation) on 200-class
#    synthetic data at Tiny-ImageNet's sizes: 100,000 train + 10,000 val 64x64 JPEGs in the real layout, made in
#    /tmp by one process per core (every image distinct), then `pnpm resnet train DIR --epochs 1 --device webgpu` with
#    the reference run's recipe (-b 256, lr 0.1, momentum 0.9, wd 1e-4, crop + flip, -j 4) and -p 10; the trainer is
#    Ctrl-C'd after RESNET_SECONDS (default 300) and killed 60 s later. Prints the data-generation time, the epoch's
#    wall time and images/s; log in OUT/resnet-epoch-webgpu.txt, times in OUT/resnet-epoch-webgpu.json.
#    RESNET_FLAGS adds trainer flags (e.g. '-j 8'); RESNET_EPOCH_ARGS adds resnet-epoch.mjs flags (a smoke run:
#    '--data /tmp/tiny-smoke --train-per-class 2 --val-per-class 1').
set -uo pipefail
pack=${1:-.gpu}; out=${2:-/tmp/gpu-out}; shift 2 || true
mkdir -p /tmp/gpu-node "$out"
for f in "$pack"/debs/*.deb; do dpkg -x "$f" /; done; ldconfig
xz -dc "$pack/node.xz" > /tmp/gpu-node/node && chmod +x /tmp/gpu-node/node
xz -dk -f "$pack/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
# The NVIDIA driver's Vulkan ICD where the image keeps it (the loader's default paths may not include it).
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
done
node=/tmp/gpu-node/node
echo "node $($node --version); VK_DRIVER_FILES=${VK_DRIVER_FILES:-none}; $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
if [ "${GPU_TABLE:-1}" != 0 ]; then
  $node "$pack/gpu.mjs" --out "$out" --python python3 --torch-script "$pack/gpu_torch.py" "$@" 2>&1 | grep -v '^Warning: maxDynamic' | tee "$out/gpu-log.txt"
fi

if [ "${WORDLM_SECONDS:-0}" -gt 0 ]; then
  timeout -s INT -k 60 "$WORDLM_SECONDS" $node "$pack/wordlm.mjs" train --model Transformer --lr 5 --epochs 6 --device webgpu \
    --data "$pack/wikitext-2" --save /tmp/wordlm-model.pt 2>&1 | grep -v '^Warning: maxDynamic' | tee "$out/wordlm-train-webgpu.txt"
  if [ -f /tmp/wordlm-model.pt ]; then
    timeout -k 10 60 $node "$pack/wordlm.mjs" generate --checkpoint /tmp/wordlm-model.pt --words 1000 --temperature 1.0 --device webgpu \
      --data "$pack/wikitext-2" --outf "$out/generated-webgpu.txt" 2>&1 | grep -v '^Warning: maxDynamic' | tail -3
  fi
fi

if [ "${RESNET_EPOCH:-0}" = 1 ]; then
  secs=${RESNET_SECONDS:-300}
  # The layer table stays in the log file; the console shows the data, progress and summary lines.
  # shellcheck disable=SC2086 # RESNET_FLAGS, RESNET_EPOCH_ARGS: several flags
  timeout -s INT -k 30 $((secs + 240)) $node "$pack/resnet-epoch.mjs" run --out "$out" --data /tmp/tiny-imagenet-synthetic-full \
    --seconds "$secs" ${RESNET_EPOCH_ARGS:-} -- -p 10 ${RESNET_FLAGS:-} 2>&1 | grep -v -E '^ *[A-Za-z0-9]+-[0-9]+ +\[|Layer \(type\)|^[-=]{40,}$|params: |^(Input|Forward/backward|Params|Estimated)'
fi

# A device call brings back at most 8 files from $OUT: everything goes in results.tgz, and the three summaries stay
# beside it for a first look.
if [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  tar -czf /tmp/gpu-results.tgz -C "$out" . && mv /tmp/gpu-results.tgz "$out/results.tgz"
  find "$out" -maxdepth 1 -type f ! -name results.tgz ! -name gpu.json ! -name gpu-kernels.md ! -name 'resnet-epoch-*.json' -delete
  find "$out" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
  ls -l "$out"
fi
