// Buffers (BatchNorm running stats) under data parallelism follow DistributedDataParallel's broadcast_buffers=True:
// each replica updates them from its own shard, and replica 0's values are the ones every replica (and a checkpoint)
// continues from.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createDataParallel } from '../src/data-parallel/data-parallel'

const fixtureModule = fileURLToPath(new URL('./data-parallel-fixture.ts', import.meta.url))
const [N, S, C] = [4, 6, 2] as const

/** Batch s: image n has value (n + 1)·(c + 1)·(s + 1) everywhere in channel c. */
function batch(s: number): { x: { data: Float32Array; shape: number[] }; y: { data: Int32Array; shape: number[] } } {
  const data = new Float32Array(N * S * S * C)
  for (let i = 0; i < data.length; i++) {
    const n = Math.floor(i / (S * S * C))
    const c = i % C
    data[i] = (n + 1) * (c + 1) * (s + 1)
  }
  return { x: { data, shape: [N, S, S, C] }, y: { data: Int32Array.from([0, 1, 2, 3]), shape: [N] } }
}

describe('data-parallel buffers', () => {
  it("keeps replica 0's running mean (from its own shard) and counts batches in int32", async () => {
    const dp = await createDataParallel({ replicas: 2, device: 'cpu', replica: { module: fixtureModule, options: { withBuffers: true } } })
    try {
      let expected = [0, 0]
      for (let s = 0; s < 3; s++) {
        const b = batch(s)
        await dp.step(b.x, b.y, 0.01)
        // Replica 0 holds images 0 and 1: channel c mean = (1 + 2) / 2 · (c + 1) · (s + 1). Replica 1's shard would
        // give (3 + 4) / 2 · …; a mean over the whole batch (SyncBN) (1 + 2 + 3 + 4) / 4 · ….
        expected = expected.map((m, c) => 0.9 * m + 0.1 * 1.5 * (c + 1) * (s + 1))
      }
      const byName = new Map(dp.getParameters().map((t) => [t.name, t]))
      const mean = byName.get('bn.running_mean')
      const count = byName.get('bn.num_batches_tracked')
      expect(mean?.kind).toBe('buffer')
      expect([...(mean?.data ?? [])].map((v, c) => Math.abs(v - (expected[c] as number)))).toEqual([expect.closeTo(0, 5), expect.closeTo(0, 5)])
      expect(count?.dtype).toBe('int32')
      expect([...(count?.data ?? [])]).toEqual([3])
    } finally {
      await dp.dispose()
    }
  })
})
