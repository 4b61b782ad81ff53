import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { generate } from './generate'
import { nllLoss } from '@tinylab/train-loop'
import { RNNModel } from './rnn-model'
import { SeededRng } from '@tinylab/seeded-rng'
import { TransformerModel } from './transformer-model'

const config = { ntoken: 30, ninp: 8, nhead: 2, nhid: 12, nlayers: 2, dropout: 0.2 }

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

/** Plain SGD on the model's parameters, by hand, so this package's tests do not depend on train-loop. */
function sgdStep(params: { value: tf.Variable }[], loss: () => tf.Scalar, lr: number): void {
  const { value, grads } = tf.variableGrads(loss, params.map((p) => p.value))
  for (const p of params) {
    const g = grads[p.value.name]
    if (g) tf.tidy(() => p.value.assign(tf.sub(p.value, tf.mul(g, lr))))
  }
  tf.dispose([value, ...Object.values(grads)])
}

describe('TransformerModel', () => {
  it('rejects an emsize that nhead does not divide, naming both', () => {
    expect(() => new TransformerModel({ ...config, ninp: 9 })).toThrow(/ninp=9.*nhead \(2\)/)
  })

  it('initialises as nn.Transformer + model.py: xavier bounds, zero attention biases, unit norms, ±0.1 embedding', () => {
    const m = new TransformerModel({ ...config, ntoken: 500, ninp: 64, nhid: 96 })
    const byName = new Map(m.namedTensors().map((n) => [n.name, n.value]))
    const absMax = (n: string) => tf.max(tf.abs(byName.get(n)!)).dataSync()[0]!
    expect(absMax('encoder.layers.0.self_attn.in_proj_weight')).toBeLessThanOrEqual(Math.sqrt(6 / (64 + 192)))
    expect(absMax('encoder.layers.0.self_attn.in_proj_weight')).toBeGreaterThan(0.9 * Math.sqrt(6 / (64 + 192)))
    expect(absMax('encoder.layers.1.self_attn.out_proj.bias')).toBe(0)
    expect(absMax('encoder.layers.0.linear1.bias')).toBeLessThanOrEqual(1 / 8)
    expect(absMax('input_emb.weight')).toBeLessThanOrEqual(0.1)
    expect(absMax('input_emb.weight')).toBeGreaterThan(0.099)
    expect(absMax('decoder.bias')).toBe(0)
    expect(Array.from(byName.get('encoder.norm.weight')!.dataSync())).toEqual(new Array(64).fill(1))
    expect(m.namedTensors().find((n) => n.name === 'pos_encoder.pe')!.kind).toBe('buffer')
    expect(m.parameters().some((p) => p.name === 'pos_encoder.pe')).toBe(false)
    m.dispose()
  })

  it('is deterministic for a seed in training mode, and dropout changes the output', () => {
    const ids = tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32')
    const a = new TransformerModel({ ...config, seed: 5 })
    const b = new TransformerModel({ ...config, seed: 5 })
    const ya = a.forward(ids, { training: true })
    const yb = b.forward(ids, { training: true })
    const ye = a.forward(ids, { training: false })
    expect(maxAbsDiff(ya.dataSync(), yb.dataSync())).toBe(0)
    expect(maxAbsDiff(ya.dataSync(), ye.dataSync())).toBeGreaterThan(1e-3)
    tf.dispose([ids, ya, yb, ye])
    a.dispose()
    b.dispose()
  })

  it("a caller-given mask over padding keys and a position tensor give the unpadded sequence's last log-probabilities", () => {
    const m = new TransformerModel({ ...config, dropout: 0 })
    tf.tidy(() => {
      const ids = [[3, 7], [1, 4], [9, 9], [2, 5], [6, 0]] // [seqLen 5, batch 2]
      const want = m.forwardLast(tf.tensor2d(ids, [5, 2], 'int32'), { training: false, mask: false })
      // Padded to 8 with token 0; keys 5..7 masked out for every query; decode position 4.
      const padded = tf.tensor2d([...ids, [0, 0], [0, 0], [0, 0]], [8, 2], 'int32')
      const mask = tf.tensor2d(Array.from({ length: 64 }, (_, i) => (i % 8 >= 5 ? -Infinity : 0)), [8, 8])
      const got = m.forwardLast(padded, { training: false, mask, position: tf.tensor1d([4], 'int32') })
      expect(got.shape).toEqual([2, 30])
      expect(maxAbsDiff(got.dataSync(), want.dataSync())).toBeLessThan(1e-5)
      // Without the mask the padding is attended to: other values.
      expect(maxAbsDiff(m.forwardLast(padded, { training: false, mask: false, position: tf.tensor1d([4], 'int32') }).dataSync(), want.dataSync())).toBeGreaterThan(1e-3)
    })
    m.dispose()
  })

  it('learns: the loss on a repeated batch falls, and no tensors leak between step 2 and step 20', () => {
    const m = new TransformerModel({ ...config, dropout: 0 })
    const ids = tf.tensor2d(Array.from({ length: 12 }, (_, i) => (i * 7) % 30), [6, 2], 'int32')
    const target = tf.tensor1d(Array.from({ length: 12 }, (_, i) => (i * 7 + 3) % 30), 'int32')
    const loss = () => nllLoss(m.forward(ids, { training: true }), target)
    const first = tf.tidy(() => loss().dataSync()[0]!)
    const counts: number[] = []
    for (let s = 0; s < 20; s++) {
      sgdStep(m.parameters(), loss, 0.5)
      counts.push(tf.memory().numTensors)
    }
    const last = tf.tidy(() => loss().dataSync()[0]!)
    expect(counts[19]).toBe(counts[1])
    expect(last).toBeLessThan(first * 0.5)
    tf.dispose([ids, target])
    m.dispose()
  })
})

describe('generate', () => {
  it('yields the requested number of valid ids, the same for the same seed, different for another', async () => {
    const m = new TransformerModel(config)
    const run = async (seed: number) => {
      const ids: number[] = []
      for await (const id of generate(m, { words: 12, seed })) ids.push(id)
      return ids
    }
    const before = tf.memory().numTensors
    const a = await run(1)
    expect(tf.memory().numTensors).toBe(before)
    expect(a).toHaveLength(12)
    expect(a.every((id) => Number.isInteger(id) && id >= 0 && id < config.ntoken)).toBe(true)
    expect(await run(1)).toEqual(a)
    expect(await run(2)).not.toEqual(a)
    m.dispose()
  })

  it('a low temperature follows the argmax of the RNN', async () => {
    const m = new RNNModel({ rnnType: 'GRU', ntoken: 20, ninp: 6, nhid: 6, nlayers: 1 })
    // Sharpen the decoder so the top two log-probs differ by far more than the temperature.
    const dec = m.namedTensors().find((n) => n.name === 'decoder.weight')!.value
    tf.tidy(() => dec.assign(tf.mul(dec, 200)))
    const ids: number[] = []
    for await (const id of generate(m, { words: 6, temperature: 1e-3, seed: 3 })) ids.push(id)
    // Replay greedily from generate.py's random first token: with T = 1e-3 every draw is the most likely token.
    let hidden = m.initHidden(1)
    let prev = new SeededRng(3).int(20)
    for (const id of ids) {
      const x = tf.tensor2d([prev], [1, 1], 'int32')
      const out = m.forward(x, { training: false, hidden })
      expect(tf.argMax(tf.reshape(out.logProbs, [20])).dataSync()[0]).toBe(id)
      tf.dispose([x, out.logProbs, hidden.h])
      hidden = out.hidden
      prev = id
    }
    tf.dispose(hidden.h)
    await expect(generate(m, { words: 1, temperature: 0 }).next()).rejects.toThrow(/1e-3/)
    m.dispose()
  })

  it('RNNModel refuses tied weights with nhid != emsize in model.py words', () => {
    expect(() => new RNNModel({ rnnType: 'LSTM', ntoken: 10, ninp: 4, nhid: 6, nlayers: 1, tieWeights: true })).toThrow(
      'When using the tied flag, nhid must be equal to emsize',
    )
  })
})
