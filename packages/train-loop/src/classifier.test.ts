import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import '../test/_tfjs'
import { accuracy } from './accuracy'
import { classifierStep, crossEntropy, evaluateBatch, type Classifier } from './classifier'
import { evaluateEpoch, trainEpoch } from './epochs'
import { SGD } from './sgd'

const LOGITS = [[2, 0, -1], [0.5, 1.5, 0], [0, 0, 3], [1, 2, 3]]
const LABELS = [0, 2, 2, 1]

/** −mean log softmax(row)[label], in float64: the reference for crossEntropy. */
function referenceCrossEntropy(rows: number[][], labels: number[]): number {
  return -rows.reduce((s, row, i) => s + (row[labels[i] as number] as number) - Math.log(row.reduce((z, v) => z + Math.exp(v), 0)), 0) / rows.length
}

/** A linear classifier (no BatchNorm, so micro-batches change nothing but rounding). */
function linear(seed: number): Classifier & { w: tf.Variable; params: { name: string; value: tf.Variable }[] } {
  const w = tf.variable(tf.randomNormal([4, 3], 0, 0.5, 'float32', seed))
  return { w, params: [{ name: 'w', value: w }], forward: (x) => tf.matMul(x as tf.Tensor2D, w) }
}

const X = [[1, 0, 2, -1], [0, 1, 1, 0], [2, 1, 0, 1], [-1, 0, 1, 2], [0.5, 0.5, -0.5, 1], [1, 1, 1, 1]]
const Y = [0, 1, 2, 1, 0, 2]

describe('classifier step and loss', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('crossEntropy is the mean −log softmax of the label, for [N, C] and [..., C] logits', async () => {
    const want = referenceCrossEntropy(LOGITS, LABELS)
    const two = crossEntropy(tf.tensor2d(LOGITS), tf.tensor1d(LABELS, 'int32'))
    const three = crossEntropy(tf.tensor3d([LOGITS.slice(0, 2), LOGITS.slice(2)]), tf.tensor2d([LABELS.slice(0, 2), LABELS.slice(2)], undefined, 'int32'))
    expect((await two.data())[0]).toBeCloseTo(want, 5)
    expect((await three.data())[0]).toBeCloseTo(want, 5)
    expect(() => crossEntropy(tf.tensor2d(LOGITS), tf.tensor1d([0], 'int32'))).toThrow('4 logit rows but 1 labels')
  })

  it("classifierStep: the accuracy of the step's own logits, micro-batches = whole batch, no leak", async () => {
    const x = tf.tensor2d(X)
    const y = tf.tensor1d(Y, 'int32')
    const [a, b] = [linear(1), linear(1)]
    const before = accuracy(a.forward(x, { training: true }) as tf.Tensor2D, y, [1, 2])
    const lossBefore = (await crossEntropy(a.forward(x, { training: true }), y).data())[0] as number
    const whole = await classifierStep({ model: a, params: a.params, optimizer: new SGD(a.params, { lr: 0.5 }), topk: [1, 2] }, x, y)
    const tensors = tf.memory().numTensors
    const parts = await classifierStep({ model: b, params: b.params, optimizer: new SGD(b.params, { lr: 0.5 }), topk: [1, 2], microBatch: 4 }, x, y)
    expect(tf.memory().numTensors).toBe(tensors)
    expect(whole.acc).toEqual(before)
    expect(parts.acc).toEqual(before)
    expect(whole.loss).toBeCloseTo(lossBefore, 6)
    expect(parts.loss).toBeCloseTo(lossBefore, 6)
    expect(Math.max(...(await tf.sub(a.w, b.w).abs().data()))).toBeLessThan(1e-6)
    const evaluated = await evaluateBatch(a, x, y, [1, 2])
    expect(evaluated.loss).toBeLessThan(lossBefore)
  })
})

describe("trainEpoch / evaluateEpoch: imagenet main.py's meters", () => {
  const batches = (n: number, from = 0) =>
    (async function* () {
      for (let i = from; i < n; i++) yield i
    })()
  // Batch i: loss i + 1, Acc@1 25·i, Acc@5 100, size 2.
  const step = async (i: number) => ({ loss: i + 1, acc: [25 * i, 100] })

  it('prints the Epoch lines every printFreq batches and averages by batch size; a resumed epoch averages alike', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    try {
      const full = await trainEpoch(3, { batches: batches(4), total: 4, size: () => 2, step, printFreq: 2 })
      const lines = log.mock.calls.map((c) => String(c[0]))
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatch(/^Epoch: \[3\]\[0\/4\]\tTime +\d+\.\d{3} \( *\d+\.\d{3}\)\tData +\d+\.\d{3} \( *\d+\.\d{3}\)\tLoss 1\.0000e\+00 \(1\.0000e\+00\)\tAcc@1 +0\.00 \( +0\.00\)\tAcc@5 100\.00 \(100\.00\)$/)
      expect(lines[1]).toMatch(/^Epoch: \[3\]\[2\/4\]\t.*\tLoss 3\.0000e\+00 \(2\.0000e\+00\)\t/)
      expect(full).toMatchObject({ batch: 4, loss: 2.5, acc1: 37.5 })
      const first = await trainEpoch(3, { batches: batches(4), total: 4, size: () => 2, step, printFreq: 2, stop: () => true })
      expect(first.batch).toBe(1)
      const rest = await trainEpoch(3, { batches: batches(4, 1), total: 4, startBatch: 1, sums: first.sums, size: () => 2, step, printFreq: 2 })
      expect(rest).toEqual(full)
    } finally {
      log.mockRestore()
    }
  })

  it('evaluateEpoch prints Test lines and the summary, or returns undefined when stopped', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    try {
      const r = await evaluateEpoch({ batches: batches(10), total: 3, size: () => 2, step, printFreq: 1 })
      const lines = log.mock.calls.map((c) => String(c[0]))
      expect(lines.slice(0, 3).map((l) => l.split('\t')[0])).toEqual(['Test: [0/3]', 'Test: [1/3]', 'Test: [2/3]'])
      expect(lines[3]).toBe(' *   Acc@1 25.000 Acc@5 100.000')
      expect(r).toEqual({ loss: 2, acc1: 25 })
      expect(await evaluateEpoch({ batches: batches(10), total: 3, size: () => 2, step, printFreq: 1, stop: () => true })).toBeUndefined()
    } finally {
      log.mockRestore()
    }
  })
})
