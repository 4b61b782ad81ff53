// Failures inside a replica must surface as errors that name the cause, never as a hang of the other replicas
// blocked in the all-reduce barrier; and a long run must not leak tensors in any replica.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createDataParallel } from '../src/data-parallel/data-parallel'

const fixtureModule = fileURLToPath(new URL('./data-parallel-fixture.ts', import.meta.url))
const x = { data: Float32Array.from({ length: 4 * 6 * 6 * 2 }, (_, i) => Math.cos(i)), shape: [4, 6, 6, 2] }
const y = { data: Int32Array.from([0, 1, 2, 3]), shape: [4] }

describe('createDataParallel failures and memory', () => {
  it('names a missing export of the replica module', async () => {
    await expect(createDataParallel({ replicas: 1, device: 'cpu', replica: { module: fixtureModule, export: 'noSuchFactory' } })).rejects.toThrow(
      /has no function export 'noSuchFactory'.*createReplica/,
    )
  })

  it('rejects a step when one replica throws, without leaving the other blocked in the barrier', async () => {
    const dp = await createDataParallel({ replicas: 2, device: 'cpu', replica: { module: fixtureModule, options: { failInForward: true } } })
    try {
      await expect(dp.step(x, y, 0.1)).rejects.toThrow(/forward failed on purpose/)
      // The group is broken for good: the next step fails fast instead of waiting for dead replicas.
      await expect(dp.step(x, y, 0.1)).rejects.toThrow(/forward failed on purpose/)
    } finally {
      await dp.dispose()
    }
  })

  it('keeps every replica tensor count flat from step 2 to step 20, and rejects mismatched x / y batches', async () => {
    const dp = await createDataParallel({ replicas: 2, device: 'cpu', replica: { module: fixtureModule }, optimizer: { momentum: 0.9 } })
    try {
      const counts: number[][] = []
      for (let s = 0; s < 20; s++) counts.push((await dp.step(x, y, 0.05)).numTensors)
      expect(counts[19]).toEqual(counts[1])
      await expect(dp.step(x, { data: Int32Array.from([0, 1, 2]), shape: [3] }, 0.1)).rejects.toThrow(/x has batch 4 on axis 0 but y has 3/)
    } finally {
      await dp.dispose()
    }
  })
})
