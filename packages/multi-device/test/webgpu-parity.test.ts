/**
 * WebGPU (Dawn on Mesa lavapipe in CI) against the pure-JS cpu backend, forward and backward, for every kernel in
 * webgpu-parity-cases.ts. Both backends run in this process on the same seeded inputs.
 */
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '@tensorflow/tfjs-backend-cpu'
import { listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/webgpu-backend'
import { parityCases } from './webgpu-parity-cases'

/** Why WebGPU cannot run here, or undefined. CI installs lavapipe, so there a missing adapter is a failure, not a skip. */
async function webGpuSkipReason(): Promise<string | undefined> {
  let reason: string | undefined
  try {
    if ((await listWebGpuAdapters()).length === 0) reason = 'no WebGPU adapter (install a Vulkan driver: see README)'
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err)
  }
  if (reason !== undefined && process.env.CI === 'true') throw new Error(`CI must run WebGPU parity: ${reason}`)
  return reason
}

async function readAll(run: () => tf.Tensor[]): Promise<Float32Array[]> {
  const outs = tf.tidy(run)
  const values = await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose(outs)
  return values
}

const skipReason = await webGpuSkipReason()

describe.skipIf(skipReason !== undefined)(`webgpu matches cpu${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const expected = new Map<string, Float32Array[]>()
  let tensorsBefore = 0

  beforeAll(async () => {
    // The reference: tfjs's pure-JS cpu kernels (registered by the import above; no wasm involved in this file).
    await tf.setBackend('cpu')
    for (const c of parityCases) expected.set(c.name, await readAll(c.run))
    await startWebGpu()
    // Small inputs that still live on the CPU would otherwise run tfjs's cpu kernels inside the webgpu backend.
    tf.env().set('WEBGPU_CPU_FORWARD', false)
    tensorsBefore = tf.memory().numTensors
  })

  afterAll(() => stopWebGpu())

  it.each(parityCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const want = expected.get(c.name)
    if (want === undefined) throw new Error(`no cpu result for ${c.name}`)
    const got = await readAll(c.run)
    expect(got.length).toBe(want.length)
    // fp32 on both sides; the orders of summation differ (tiled GPU matmul vs. the cpu backend's loops), which
    // stays far inside 1e-4 relative to each output's largest magnitude at these sizes.
    got.forEach((values, i) => {
      expect(values.length, `${c.name} output ${i} length`).toBe(want[i]?.length)
      expect(relError(values, want[i] ?? new Float32Array()), `${c.name} output ${i}`).toBeLessThanOrEqual(1e-4)
    })
    expect(tf.getBackend()).toBe('webgpu')
  })

  it('leaks no tensors on webgpu', () => {
    expect(tf.memory().numTensors).toBe(tensorsBefore)
  })
})
