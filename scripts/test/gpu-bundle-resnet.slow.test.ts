// The GPU pack (scripts/bench/gpu-bundle.mjs) runs `pnpm resnet train` outside the workspace: resnet-epoch.mjs makes
// synthetic data in shards, then resnet.mjs trains an epoch on WebGPU (lavapipe here) with the compiled step, its
// loader in decode-worker.mjs, the JPEG codec's wasm and Dawn found beside the bundle. What a GPU machine would run
// (gpu-device.sh RESNET_EPOCH=1), at a size lavapipe finishes in a minute.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { listWebGpuAdapters } from '@tinylab/webgpu-backend'

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gpu-bundle-resnet-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe.skipIf(adapters === 0)('the GPU pack', () => {
  it('the bundle makes the data and trains one epoch on webgpu with the compiled step, then reports its times', () => {
    const pack = path.join(tmp, 'pack')
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts/bench/gpu-bundle.mjs'), pack, '--js-only'], { cwd: REPO_ROOT, stdio: 'pipe' })
    execFileSync('xz', ['-dk', '-f', path.join(pack, 'node_modules/webgpu/dist/linux-x64/dawn.node.xz')])
    const out = path.join(tmp, 'out')
    // Run from elsewhere: nothing may come from the workspace's node_modules.
    const r = spawnSync(
      process.execPath,
      [path.join(pack, 'resnet-epoch.mjs'), 'run', '--out', out, '--data', path.join(tmp, 'data'), '--processes', '2', '--classes', '4', '--train-per-class', '3', '--val-per-class', '2', '-b', '4', '--seconds', '300', '--logdir', path.join(tmp, 'runs'), '--', '-j', '1', '-p', '1', '--max-steps', '2'],
      { cwd: tmp, encoding: 'utf8', timeout: 420_000 },
    )
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/=> resnet-epoch: data .*: 4 classes, 12 train, 8 val images; generated in [\d.]+ s \(drawing \+ encoding [\d.]+ s, merging [\d.]+ s\) by 2 processes/)
    const log = readFileSync(path.join(out, 'resnet-epoch-webgpu.txt'), 'utf8')
    expect(log).toMatch(/^=> device: webgpu/m)
    expect(log).not.toContain('running eagerly')
    expect(log).toMatch(/^Epoch: \[0\]\[1\/2\]\tTime/m)
    expect(log).toMatch(/^Test: \[1\/2\]\tTime/m)
    expect(log).toMatch(/^ \* +Acc@1 [\d.]+ Acc@5 [\d.]+$/m)
    const json = JSON.parse(readFileSync(path.join(out, 'resnet-epoch-webgpu.json'), 'utf8')) as Record<string, unknown>
    expect(json).toMatchObject({ device: 'webgpu', classes: 4, train_images: 12, val_images: 8, batch: 4, exit_code: 0, complete: true, batches: 2, batchesDone: 2, trainLoopBatches: 2 })
    for (const k of ['data_s', 'startupS', 'firstBatchS', 'trainLoopS', 'validationS', 'epochS', 'train_images_per_s']) expect(json[k], k).toBeGreaterThan(0)
    expect(r.stdout.trim().split('\n').at(-2)).toMatch(/^resnet-epoch \(webgpu, ResNet-18, 4 classes, batch 4\): data generation [\d.]+ s \(20 JPEGs, 2 processes\); epoch [\d.]+ s/)
  }, 600_000)
})
