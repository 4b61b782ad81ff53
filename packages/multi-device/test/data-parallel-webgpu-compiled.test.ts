// Each WebGPU replica replays its own compiled step (trace 3 calls, then one submit per step) while the coordinator
// updates the parameters on the CPU and every replica loads them between replays: the compiled replicas must follow
// the eager WebGPU replicas and the cpu replicas step for step, which they cannot do if a replay read the parameters
// (or the BatchNorm-like buffers) of the call it was traced from.
import { relError } from '@tinylab/test-utils/close'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createDataParallel } from '../src/data-parallel/data-parallel'
import type { NamedArray, StepResult } from '../src/data-parallel/data-parallel'
import { stopWebGpu } from '@tinylab/webgpu-backend'
import { webGpuSkipReason } from './_webgpu-skip'

const fixtureModule = fileURLToPath(new URL('./data-parallel-fixture.ts', import.meta.url))
const STEPS = 6

const skipReason = await webGpuSkipReason()
afterAll(() => stopWebGpu())

interface Run {
  results: StepResult[]
  params: NamedArray[]
}

async function train(device: 'cpu' | 'webgpu', compile: boolean): Promise<Run> {
  const dp = await createDataParallel({
    replicas: 2,
    device,
    compile,
    // Two parameters of one size (the replay copies in each one loaded since the last step) and buffers the step
    // assigns (a running mean, an int32 counter), which rank 1 loads from rank 0 after each step.
    replica: { module: fixtureModule, export: 'createMlpReplica', options: { seed: 7 } },
    optimizer: { momentum: 0.9, weightDecay: 1e-3 },
  })
  try {
    const results: StepResult[] = []
    for (let s = 0; s < STEPS; s++) {
      // Different data every step, the same shape: the replays must read each step's batch.
      const x = { data: Float32Array.from({ length: 6 * 6 * 6 * 2 }, (_, i) => Math.sin(0.3 * i + s)), shape: [6, 6, 6, 2] }
      const y = { data: Int32Array.from({ length: 6 }, (_, i) => (i + s) % 4), shape: [6] }
      results.push(await dp.step(x, y, 0.1, { topk: [1, 2] }))
    }
    return { results, params: dp.getParameters() }
  } finally {
    await dp.dispose()
  }
}

describe.skipIf(skipReason !== undefined)(`compiled WebGPU replicas${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it(`2 WebGPU replicas replaying compiled steps follow eager WebGPU and cpu replicas for ${STEPS} steps`, async () => {
    const compiled = await train('webgpu', true)
    const eager = await train('webgpu', false)
    const cpu = await train('cpu', true) // compile means nothing off WebGPU

    // Calls 0-2 run eagerly (warm-up, two traces; the plan exists after the second trace); calls 3-5 replay it.
    compiled.results.forEach((r, s) => {
      expect(r.plans?.map((p) => p.mode), `step ${s}`).toEqual(s < 2 ? ['warming-up', 'warming-up'] : ['compiled', 'compiled'])
      expect(r.plans?.map((p) => [p.eagerCalls, p.replays]), `step ${s}`).toEqual(s < 3 ? [[s + 1, 0], [s + 1, 0]] : [[3, s - 2], [3, s - 2]])
    })
    const last = compiled.results[STEPS - 1] as StepResult
    for (const p of last.plans ?? []) expect(p.dispatches).toBeGreaterThan(0)
    expect(eager.results.every((r) => r.plans === undefined)).toBe(true)
    expect(cpu.results.every((r) => r.plans === undefined)).toBe(true)

    const losses = (run: Run): number[] => run.results.map((r) => r.loss)
    for (const reference of [eager, cpu]) {
      expect(relError(losses(compiled), losses(reference))).toBeLessThanOrEqual(1e-4)
      compiled.params.forEach((p, i) => expect(relError(p.data, (reference.params[i] as NamedArray).data), p.name).toBeLessThanOrEqual(1e-3))
      expect(compiled.results.map((r) => r.correct)).toEqual(reference.results.map((r) => r.correct))
    }
    // The int32 counter was incremented by every step, the replays included.
    expect(Array.from(compiled.params.find((p) => p.name === 'bn.num_batches_tracked')?.data ?? [])).toEqual([STEPS])
    // No tensor growth while replaying.
    const counts = compiled.results.slice(3).map((r) => r.numTensors)
    expect(counts.every((c) => c.join() === counts[0]?.join())).toBe(true)
  })
})
