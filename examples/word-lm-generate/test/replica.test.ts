// `--devices N` must be invisible in the numbers: with dropout off, 2 Transformer replicas on half the columns each
// follow one model on the whole batch (same clipped SGD, main.py's update) step for step.
import * as tf from '@tensorflow/tfjs-core'
import { createDataParallel, initBackend } from '@tinylab/multi-device'
import { relError } from '@tinylab/test-utils/close'
import { SGD, trainStep } from '@tinylab/train-loop'
import { TransformerModel, nllLoss } from '@tinylab/transformer-lm'
import { beforeAll, describe, expect, it } from 'vitest'

const options = { ntoken: 40, ninp: 16, nhead: 2, nhid: 24, nlayers: 2, dropout: 0, layerDropout: 0, seed: 7 }
const T = 5
const B = 6
const LR = 0.5
const CLIP = 0.25
const STEPS = 6

/** Batch s: [T, B] token ids and the next tokens as targets, a fixed pseudo-random stream. */
function batchAt(s: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const ids = Int32Array.from({ length: (T + 1) * B }, (_, i) => (i * 17 + s * 31 + ((i * i) % 7)) % options.ntoken)
  return { x: tf.tensor2d(ids.slice(0, T * B), [T, B], 'int32'), y: tf.tensor2d(ids.slice(B), [T, B], 'int32') }
}

describe('word LM data parallelism (cpu replicas, dropout off)', () => {
  beforeAll(async () => {
    await initBackend({ device: 'cpu' })
  })

  it('2 replicas on 3 + 3 columns = 1 model on 6 columns: same losses and weights after 6 clipped SGD steps', async () => {
    const single = new TransformerModel(options)
    const initial = new Map(single.parameters().map((p) => [p.name, Float32Array.from(p.value.dataSync())]))
    const sgd = new SGD(single.parameters(), { lr: LR })
    const expected: number[] = []
    for (let s = 0; s < STEPS; s++) {
      const { x, y } = batchAt(s)
      const loss = () => nllLoss(single.forward(x, { training: true }), tf.reshape(y, [-1]))
      expected.push(trainStep({ params: single.parameters(), optimizer: sgd, clipNorm: CLIP, loss }).loss)
      tf.dispose([x, y])
    }
    // Replica r is built with seed 7 + r; DistributedDataParallel semantics broadcast rank 0's (= seed 7) weights.
    const dp = await createDataParallel({ replicas: 2, device: 'cpu', replica: { module: '@tinylab/transformer-lm', export: 'transformerReplica', options, from: import.meta.url }, batchAxis: 1 })
    try {
      const losses: number[] = []
      for (let s = 0; s < STEPS; s++) {
        const { x, y } = batchAt(s)
        const r = await dp.step(x, y, LR, { clipGradNorm: CLIP })
        losses.push(r.loss)
        expect(r.gradNorm).toBeGreaterThan(CLIP) // the clip was active
        tf.dispose([x, y])
      }
      expect(relError(losses, expected)).toBeLessThanOrEqual(1e-5)
      const mine = new Map(single.parameters().map((p) => [p.name, p.value.dataSync()]))
      for (const p of dp.getParameters()) expect(relError(p.data, mine.get(p.name) as Float32Array), p.name).toBeLessThanOrEqual(1e-5)
      // Not vacuous: the steps moved the weights far more than the tolerance.
      expect(relError(mine.get('decoder.weight') as Float32Array, initial.get('decoder.weight') as Float32Array)).toBeGreaterThan(1e-2)
    } finally {
      await dp.dispose()
      sgd.dispose()
      single.dispose()
    }
  })
})
