import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { nllLoss, SGD } from '@tinylab/train-loop'
import { beforeAll, describe, expect, it } from 'vitest'
import { type LmBatch, evaluateLm, lmTrainer } from './lm-training'
import { RNNModel } from './rnn-model'
import { TransformerModel } from './transformer-model'

// A stream of 4 columns, 7 rows: chunks of 3 input rows, as main.py's get_batch cuts them (the last one shorter).
const NTOKEN = 9
const ROWS = 7
const COLS = 4
const ids = Int32Array.from({ length: ROWS * COLS }, (_, i) => (i * 5 + ((i * i) % 3)) % NTOKEN)

function chunk(start: number, len: number): LmBatch {
  return {
    data: tf.tensor2d(ids.slice(start * COLS, (start + len) * COLS), [len, COLS], 'int32'),
    target: tf.tensor1d(ids.slice((start + 1) * COLS, (start + 1 + len) * COLS), 'int32'),
  }
}
const chunks = (): LmBatch[] => [chunk(0, 3), chunk(3, 3)]

/** The reference: the whole stream in one forward pass, its per-row mean NLL (an RNN from a zero state). */
function wholeStreamRowLosses(model: RNNModel | TransformerModel): number[] {
  return tf.tidy(() => {
    const whole = chunk(0, ROWS - 1)
    const logProbs = model instanceof RNNModel ? model.forward(whole.data, { training: false, hidden: model.initHidden(COLS) }).logProbs : model.forward(whole.data, { training: false })
    return Array.from({ length: ROWS - 1 }, (_, r) => nllLoss(tf.slice(logProbs, [r, 0, 0], [1, COLS, NTOKEN]), tf.slice(whole.target, [r * COLS], [COLS])).dataSync()[0] as number)
  })
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

describe('evaluateLm', () => {
  it('an LSTM carries its state across chunks: two chunks of 3 rows give the whole stream’s summed loss', async () => {
    const model = new RNNModel({ rnnType: 'LSTM', ntoken: NTOKEN, ninp: 5, nhid: 5, nlayers: 2, dropout: 0, seed: 1 })
    const before = tf.memory().numTensors
    const batches = chunks()
    const r = await evaluateLm(model, batches)
    tf.dispose(batches.flatMap((b) => [b.data, b.target]))
    expect(tf.memory().numTensors).toBe(before)
    expect(r?.rows).toBe(6)
    expect(r?.total).toBeCloseTo(sum(wholeStreamRowLosses(model)), 4)
    model.dispose()
  })

  it('a Transformer starts each chunk afresh, and stop() ends the pass with undefined', async () => {
    const model = new TransformerModel({ ntoken: NTOKEN, ninp: 4, nhead: 2, nhid: 8, nlayers: 1, dropout: 0, layerDropout: 0, seed: 1 })
    const batches = chunks()
    const perChunk = batches.map((b) => tf.tidy(() => nllLoss(model.forward(b.data, { training: false }), b.target).dataSync()[0] as number))
    expect((await evaluateLm(model, batches))?.total).toBeCloseTo(3 * sum(perChunk), 4)
    // The causal mask makes the first chunk's rows those of the whole stream; the second chunk's differ (no context).
    expect(perChunk[0]).toBeCloseTo(sum(wholeStreamRowLosses(model).slice(0, 3)) / 3, 4)
    expect(await evaluateLm(model, batches, { stop: () => true })).toBeUndefined()
    tf.dispose(batches.flatMap((b) => [b.data, b.target]))
    model.dispose()
  })
})

describe('lmTrainer', () => {
  it('with lr 0 its losses are the evaluation’s chunk losses (state carried), and reset starts the state again', async () => {
    const model = new RNNModel({ rnnType: 'GRU', ntoken: NTOKEN, ninp: 5, nhid: 5, nlayers: 1, dropout: 0, seed: 2 })
    const sgd = new SGD(model.parameters(), { lr: 0 })
    const trainer = lmTrainer(model, sgd, 0.25)
    const rows = wholeStreamRowLosses(model)
    const batches = chunks()
    const before = tf.memory().numTensors
    trainer.reset(COLS)
    const losses = [await trainer.step(batches[0]!.data, batches[0]!.target), await trainer.step(batches[1]!.data, batches[1]!.target)]
    expect(losses[0]).toBeCloseTo(sum(rows.slice(0, 3)) / 3, 4)
    expect(losses[1]).toBeCloseTo(sum(rows.slice(3)) / 3, 4)
    trainer.reset(COLS)
    expect(await trainer.step(batches[0]!.data, batches[0]!.target)).toBeCloseTo(losses[0] as number, 5)
    trainer.dispose()
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose(batches.flatMap((b) => [b.data, b.target]))
    sgd.dispose()
    model.dispose()
  })

  it('with lr > 0 the clipped update lowers the loss of a repeated batch', async () => {
    const model = new TransformerModel({ ntoken: NTOKEN, ninp: 4, nhead: 2, nhid: 8, nlayers: 1, dropout: 0, layerDropout: 0, seed: 3 })
    const sgd = new SGD(model.parameters(), { lr: 0.5 })
    const trainer = lmTrainer(model, sgd, 0.25)
    const { data, target } = chunk(0, 3)
    const losses: number[] = []
    for (let i = 0; i < 5; i++) losses.push(await trainer.step(data, target))
    expect(losses[4]).toBeLessThan((losses[0] as number) - 0.05)
    tf.dispose([data, target])
    trainer.dispose()
    sgd.dispose()
    model.dispose()
  })
})
