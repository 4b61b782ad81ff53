/**
 * Shared by the WebGPU kernel parity tests: each case computes the same numbers twice, `reference` with tfjs ops on
 * the pure-JS cpu backend and `webgpu` with the kernel under test, from seeded inputs. relError (max|got − want| /
 * max|want|) ≤ 1e-4 for every output; `WEBGPU_CPU_FORWARD` is off so small tensors run the WGSL too.
 */
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'

export interface KernelParityCase {
  name: string
  /** Composed tfjs ops, run on cpu inside tf.tidy. */
  reference: () => tf.Tensor[]
  /** The WebGPU kernel(s) under test, run inside tf.tidy. */
  webgpu: () => tf.Tensor[]
}

async function readAll(run: () => tf.Tensor[]): Promise<Float32Array[]> {
  const outs = tf.tidy(run)
  const values = await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose(outs)
  return values
}

const adapterCount = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapterCount === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

/** The WebGPU programs (class names) `run` dispatches, in order; `run`'s tensors are disposed. */
export async function programsRun(run: () => tf.Tensor[]): Promise<string[]> {
  // recordAndSubmit is private in tfjs's types: every dispatch of the backend goes through it.
  const backend = tf.backend() as unknown as { recordAndSubmit: (program: WebGPUProgram, ...rest: unknown[]) => void }
  const record = backend.recordAndSubmit
  const names: string[] = []
  backend.recordAndSubmit = (program, ...rest) => {
    names.push(program.constructor.name)
    record.call(backend, program, ...rest)
  }
  try {
    await readAll(run)
  } finally {
    backend.recordAndSubmit = record
  }
  return names
}

/**
 * Declares one describe block: every case on webgpu against cpu, then a leak check. `extra` declares more tests
 * that run on webgpu after the cases.
 */
export function describeKernelParity(title: string, cases: KernelParityCase[], extra?: () => void): void {
  describe.skipIf(adapterCount === 0)(`${title}: webgpu matches cpu${adapterCount === 0 ? ' (skipped: no WebGPU adapter)' : ''}`, () => {
    const expected = new Map<string, Float32Array[]>()
    let tensorsBefore = 0
    beforeAll(async () => {
      await tf.setBackend('cpu')
      for (const c of cases) expected.set(c.name, await readAll(c.reference))
      await startWebGpu()
      tf.env().set('WEBGPU_CPU_FORWARD', false)
      tensorsBefore = tf.memory().numTensors
    })
    afterAll(() => stopWebGpu())

    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const want = expected.get(c.name) ?? []
      const got = await readAll(c.webgpu)
      expect(tf.getBackend()).toBe('webgpu')
      expect(got.length).toBe(want.length)
      got.forEach((values, i) => {
        expect(values.length, `${c.name} output ${i} length`).toBe(want[i]?.length)
        expect(relError(values, want[i] ?? new Float32Array()), `${c.name} output ${i}`).toBeLessThanOrEqual(1e-4)
      })
    })

    extra?.()

    it('leaks no tensors', () => {
      expect(tf.memory().numTensors).toBe(tensorsBefore)
    })
  })
}
