// startReplicasFrom / syncFromReplicas: the replicas continue from a main-thread model and SGD (weights and momentum),
// and hand their state back so that the main model equals one that took the same steps on the main thread.
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { SGD, classifierStep } from '@tinylab/train-loop'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend, startReplicasFrom, syncFromReplicas } from '../src/index'
import { FIXTURE, createReplica } from './data-parallel-fixture'

const fixtureModule = fileURLToPath(new URL('./data-parallel-fixture.ts', import.meta.url))
const { size, channels, classes } = FIXTURE
const N = 4

function batch(s: number): { x: Float32Array; y: Int32Array } {
  const x = Float32Array.from({ length: N * size * size * channels }, (_, i) => Math.sin(0.37 * i + s))
  return { x, y: Int32Array.from({ length: N }, (_, i) => (i + s) % classes) }
}

async function mainStep(model: ReturnType<typeof createReplica>, sgd: SGD, s: number): Promise<void> {
  const b = batch(s)
  const x = tf.tensor4d(b.x, [N, size, size, channels])
  const y = tf.tensor1d(b.y, 'int32')
  await classifierStep({ model, params: model.parameters(), optimizer: sgd }, x, y)
  tf.dispose([x, y])
}

const values = (m: ReturnType<typeof createReplica>): Float32Array[] => m.parameters().map((p) => p.value.dataSync() as Float32Array)

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

describe('data parallelism beside a main-thread model', () => {
  it('starts the replicas from the main weights and momentum, and syncs them back (lr stays the main SGD’s)', async () => {
    // Seed 5 on the main thread; the replicas build seed 1, so equal results mean the weights were copied over.
    const main = createReplica({ seed: 5 })
    const ref = createReplica({ seed: 5 })
    const hyper = { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 }
    const sgd = new SGD(main.parameters(), hyper)
    const refSgd = new SGD(ref.parameters(), hyper)
    await mainStep(main, sgd, 0)
    await mainStep(ref, refSgd, 0)
    await mainStep(ref, refSgd, 1)

    const dp = await startReplicasFrom(
      { replicas: 2, device: 'cpu', replica: { module: fixtureModule }, optimizer: { momentum: 0.9, weightDecay: 1e-3 } },
      main.namedTensors(),
      sgd,
    )
    try {
      const b = batch(1)
      await dp.step({ data: b.x, shape: [N, size, size, channels] }, { data: b.y, shape: [N] }, 0.1)
      sgd.lr = 0.05
      syncFromReplicas(dp, main.namedTensors(), sgd)
    } finally {
      await dp.dispose()
    }
    expect(sgd.lr).toBe(0.05)
    const [got, want] = [values(main), values(ref)]
    for (const [i, w] of want.entries()) expect(Math.max(...w.map((v, j) => Math.abs(v - (got[i]![j] as number))))).toBeLessThan(1e-5)
    const momentum = (o: SGD): number[] => Object.values(o.stateDict().state).flatMap((s) => [...(s.momentum_buffer?.dataSync() ?? [])])
    const [gotM, wantM] = [momentum(sgd), momentum(refSgd)]
    expect(gotM).toHaveLength(wantM.length)
    expect(Math.max(...wantM.map((v, j) => Math.abs(v - (gotM[j] as number))))).toBeLessThan(1e-5)
    // The replicas' own initial weights (seed 1) differ: without the copy this test could not pass.
    expect(createReplica({ seed: 1 }).parameters()[0]!.value.dataSync()[0]).not.toBeCloseTo(want[0]![0] as number, 3)
  })
})
