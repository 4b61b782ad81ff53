import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import '../test/_tfjs'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { SGD } from './sgd'
import { evaluate, evaluateAsync, trainStep, trainStepAsync } from './train-step'

// A linear least-squares model: its gradient is known in closed form, 2/N·Xᵀ(Xw - y).
const X = [[1, 2], [3, -1], [0.5, 0.5], [-2, 1]]
const Y = [1, 0, 2, -1]
const W0 = [0.3, -0.2]

function mse(w: tf.Variable, rows: number[]): tf.Scalar {
  const x = tf.tensor2d(rows.map((r) => X[r] as number[]))
  const y = tf.tensor1d(rows.map((r) => Y[r] as number))
  return tf.mean(tf.square(tf.sub(tf.squeeze(tf.matMul(x, tf.reshape(w, [2, 1])), [1]), y)))
}

describe('trainStep', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('applies the analytic gradient of the mean loss', () => {
    const w = tf.variable(tf.tensor1d(W0))
    const lr = 0.1
    trainStep({ params: [{ name: 'w', value: w }], optimizer: new SGD([{ name: 'w', value: w }], { lr }), loss: () => mse(w, [0, 1, 2, 3]) })
    const grad = [0, 1].map((j) => (2 / 4) * X.reduce((s, x, i) => s + (x[j] as number) * ((x[0] as number) * (W0[0] as number) + (x[1] as number) * (W0[1] as number) - (Y[i] as number)), 0))
    expect(maxAbsDiff(w.dataSync(), W0.map((v, j) => v - lr * (grad[j] as number)))).toBeLessThan(1e-6)
    w.dispose()
  })

  it('accumulating two equal micro-batches equals one full batch', () => {
    const a = tf.variable(tf.tensor1d(W0))
    const b = tf.variable(tf.tensor1d(W0))
    const full = trainStep({ params: [{ name: 'w', value: a }], optimizer: new SGD([{ name: 'w', value: a }], { lr: 0.1 }), loss: () => mse(a, [0, 1, 2, 3]) })
    const halves = [[0, 1], [2, 3]]
    const acc = trainStep({
      params: [{ name: 'w', value: b }],
      optimizer: new SGD([{ name: 'w', value: b }], { lr: 0.1 }),
      microBatches: 2,
      loss: (m) => mse(b, halves[m] as number[]),
    })
    expect(Math.abs(full.loss - acc.loss)).toBeLessThan(1e-6)
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-6)
    expect(maxAbsDiff(a.dataSync(), W0)).toBeGreaterThan(1e-3)
    tf.dispose([a, b])
  })

  it('clips and reports the pre-clip norm', () => {
    const w = tf.variable(tf.tensor1d(W0))
    const r = trainStep({ params: [{ name: 'w', value: w }], optimizer: new SGD([{ name: 'w', value: w }], { lr: 1 }), clipNorm: 0.01, loss: () => mse(w, [0, 1, 2, 3]) })
    const moved = Math.hypot(...Array.from(w.dataSync(), (v, j) => v - (W0[j] as number)))
    expect(moved).toBeCloseTo(0.01 * (r.gradNorm! / (r.gradNorm! + 1e-6)), 6)
    w.dispose()
  })

  it('trainStepAsync gives trainStep\'s numbers exactly, and a clip norm above the gradient norm changes nothing', async () => {
    const run = async (clipNorm: number | undefined, useAsync: boolean) => {
      const init = tf.tensor1d(W0)
      const w = tf.variable(init)
      init.dispose()
      const opt = new SGD([{ name: 'w', value: w }], { lr: 0.5, momentum: 0.9 })
      const results = []
      for (let s = 0; s < 3; s++) {
        const options = { params: [{ name: 'w', value: w }], optimizer: opt, microBatches: 2, loss: (m: number) => mse(w, m === 0 ? [0, 1] : [2, 3]), ...(clipNorm === undefined ? {} : { clipNorm }) }
        results.push(useAsync ? await trainStepAsync(options) : trainStep(options))
      }
      const weights = Array.from(w.dataSync())
      opt.dispose()
      w.dispose()
      return { results, weights }
    }
    const before = tf.memory().numTensors
    for (const clip of [0.01, undefined]) expect(await run(clip, true)).toEqual(await run(clip, false))
    const clipped = await run(0.01, true)
    expect(clipped.results.every((r) => (r.gradNorm as number) > 0.01)).toBe(true)
    const loose = await run(1e6, true) // coef = min(1, 1e6 / (norm + 1e-6)) = 1: torch multiplies by exactly 1
    expect(loose.weights).toEqual((await run(undefined, true)).weights)
    expect(loose.results.map((r) => r.loss)).toEqual((await run(undefined, false)).results.map((r) => r.loss))
    expect(tf.memory().numTensors).toBe(before)
  })

  it('leaves no tensors behind: the count after step 2 equals the count after step 20', () => {
    const w = tf.variable(tf.tensor1d(W0))
    const opt = new SGD([{ name: 'w', value: w }], { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })
    const counts: number[] = []
    for (let s = 1; s <= 20; s++) {
      trainStep({ params: [{ name: 'w', value: w }], optimizer: opt, microBatches: 2, clipNorm: 1, loss: (m) => mse(w, m === 0 ? [0, 1] : [2, 3]) })
      counts.push(tf.memory().numTensors)
    }
    expect(counts[19]).toBe(counts[1])
    opt.dispose()
    w.dispose()
  })
})

describe('evaluate', () => {
  it('evaluate weights batch losses and divides by the given total', () => {
    const r = evaluate([1, 2, 3], (b) => ({ loss: tf.scalar(b * 10), weight: b }), 7)
    expect(r).toBeCloseTo((10 + 40 + 90) / 7, 6)
  })

  it('evaluateAsync reads each loss asynchronously, also from an async iterable', async () => {
    async function* batches() {
      yield* [1, 2, 3]
    }
    expect(await evaluateAsync(batches(), (b) => ({ loss: tf.scalar(b * 10), weight: b }), 7)).toBeCloseTo((10 + 40 + 90) / 7, 6)
    expect(await evaluateAsync([1, 2, 3], (b) => ({ loss: tf.scalar(b * 10), weight: b }))).toBeCloseTo((10 + 40 + 90) / 6, 6)
    await expect(evaluateAsync([], () => ({ loss: tf.scalar(0), weight: 1 }))).rejects.toThrow(/no batches/)
  })
})
