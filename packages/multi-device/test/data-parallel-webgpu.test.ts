// The multi-GPU code path without GPUs: two WebGPU replicas, each with its own Dawn device on the Mesa lavapipe
// adapter (CI installs it), must follow one cpu replica on the whole batch, as two CUDA devices would under DDP. They
// replay compiled steps from the fourth step on (the default; data-parallel-webgpu-compiled.test.ts checks the plans).
import { relError } from '@tinylab/test-utils/close'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createDataParallel } from '../src/data-parallel/data-parallel'
import type { NamedArray } from '../src/data-parallel/data-parallel'
import { stopWebGpu } from '@tinylab/webgpu-backend'
import { webGpuSkipReason } from './_webgpu-skip'

const fixtureModule = fileURLToPath(new URL('./data-parallel-fixture.ts', import.meta.url))

const skipReason = await webGpuSkipReason()
afterAll(() => stopWebGpu())

async function trainOn(device: 'cpu' | 'webgpu', replicas: number): Promise<{ losses: number[]; params: NamedArray[]; adapters: (string | undefined)[] }> {
  const dp = await createDataParallel({ replicas, device, replica: { module: fixtureModule, options: { seed: 7 } }, optimizer: { momentum: 0.9 } })
  try {
    const losses: number[] = []
    for (let s = 0; s < 5; s++) {
      const x = { data: Float32Array.from({ length: 6 * 6 * 6 * 2 }, (_, i) => Math.sin(0.3 * i + s)), shape: [6, 6, 6, 2] }
      const y = { data: Int32Array.from({ length: 6 }, (_, i) => (i + s) % 4), shape: [6] }
      losses.push((await dp.step(x, y, 0.1)).loss)
    }
    return { losses, params: dp.getParameters(), adapters: dp.backends.map((b) => b.adapter) }
  } finally {
    await dp.dispose()
  }
}

describe.skipIf(skipReason !== undefined)(`data parallelism on WebGPU${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('2 WebGPU replicas (one device each) follow 1 cpu replica on the whole batch for 5 steps', async () => {
    const reference = await trainOn('cpu', 1)
    const gpu = await trainOn('webgpu', 2)
    expect(gpu.adapters).toHaveLength(2)
    expect(gpu.adapters.every((a) => typeof a === 'string' && a.length > 0)).toBe(true)
    // Two backends (WGSL vs JS kernels): 1e-4 relative, the kernel-parity tolerance.
    expect(relError(gpu.losses, reference.losses)).toBeLessThanOrEqual(1e-4)
    gpu.params.forEach((p, i) => expect(relError(p.data, (reference.params[i] as NamedArray).data), p.name).toBeLessThanOrEqual(1e-4))
  })
})
