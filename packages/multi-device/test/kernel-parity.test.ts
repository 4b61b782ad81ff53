/**
 * Every kernel ResNet and the word language models train with, forward and gradient, on each accelerated backend
 * against the pure-JS cpu backend (tfjs's reference kernels). tfjs has one engine per process, so both backends are
 * registered here and `tf.setBackend` switches between them; each case builds its inputs from seeded plain arrays, so
 * both sides see identical numbers.
 *
 * Tolerance: relError (@tinylab/test-utils/close) = max|got − want| / max|want|, ≤ 1e-4. Scaling by the reference's
 * largest magnitude rather than elementwise keeps gradients full of near-zero values meaningful; fp32 on both sides,
 * so the only differences are summation orders (XNNPACK's blocked GEMMs vs. the cpu loops), ~1e-6 at these sizes.
 */
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../src/index'
import { listWebGpuAdapters, stopWebGpu } from '@tinylab/webgpu-backend'
import { trainingKernelCases } from './training-kernel-cases'
import type { ParityCase } from '@tinylab/test-utils/kernel-cases'
import { parityCases } from '@tinylab/test-utils/kernel-cases'

const cases: ParityCase[] = [...parityCases, ...trainingKernelCases]

/**
 * Why `device` cannot start here, or undefined. wasm must always start; CI installs lavapipe for webgpu and builds
 * @tinylab/native-cpu for wasm+native.
 */
async function skipReason(device: 'wasm' | 'wasm+native' | 'webgpu'): Promise<string | undefined> {
  if (device === 'wasm') return undefined
  if (device === 'wasm+native') {
    const info = await initBackend({ device: 'auto' })
    const reason = info.backend === 'wasm+native' ? undefined : info.reason
    if (reason !== undefined && process.env.CI === 'true') throw new Error(`CI must run the parity suite on wasm+native: ${reason}`)
    return reason
  }
  let reason: string | undefined
  try {
    if ((await listWebGpuAdapters()).length === 0) reason = 'no WebGPU adapter (needs a Vulkan driver: Mesa >= 24 lavapipe or a GPU)'
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err)
  }
  if (reason !== undefined && process.env.CI === 'true') throw new Error(`CI must run the WebGPU parity suite: ${reason}`)
  return reason
}

async function readAll(run: () => tf.Tensor[]): Promise<Float32Array[]> {
  const outs = tf.tidy(run)
  const values = await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose(outs)
  return values
}

const backends = [
  { device: 'wasm' as const, reason: await skipReason('wasm') },
  { device: 'wasm+native' as const, reason: await skipReason('wasm+native') },
  { device: 'webgpu' as const, reason: await skipReason('webgpu') },
]

const expected = new Map<string, Float32Array[]>()
beforeAll(async () => {
  await initBackend({ device: 'cpu' })
  for (const c of cases) expected.set(c.name, await readAll(c.run))
})
afterAll(() => stopWebGpu())

describe.each(backends)('$device matches cpu', ({ device, reason }) => {
  let tensorsBefore = 0
  beforeAll(async () => {
    if (reason !== undefined) return
    await initBackend({ device })
    if (device === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false)
    tensorsBefore = tf.memory().numTensors
  })

  it.skipIf(reason === undefined)(`cannot start here: ${reason ?? ''}`, () => {
    expect(reason).toBeDefined()
  })

  describe.skipIf(reason !== undefined)('kernels', () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await tf.setBackend(device)
      const want = expected.get(c.name)
      if (want === undefined) throw new Error(`no cpu result for ${c.name}`)
      const got = await readAll(c.run)
      expect(tf.getBackend()).toBe(device)
      expect(got.length).toBe(want.length)
      got.forEach((values, i) => {
        expect(values.length, `${c.name} output ${i} length`).toBe(want[i]?.length)
        expect(relError(values, want[i] ?? new Float32Array()), `${c.name} output ${i}`).toBeLessThanOrEqual(1e-4)
      })
    })

    it('leaks no tensors', async () => {
      await tf.setBackend(device)
      expect(tf.memory().numTensors).toBe(tensorsBefore)
    })
  })
})
