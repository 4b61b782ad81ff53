/**
 * compileTrainingStep: a softmax classifier trained by plain SGD, compiled per input shape, against the same steps
 * computed eagerly on the cpu backend: the same losses and weights; a second batch shape gets its own plan; a
 * learning-rate change re-traces; the logits come back beside the loss.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops'
import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileTrainingStep, listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const IN = 7
const CLASSES = 5
const seeded = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 12.9898) * 0.5)
const batch = (n: number, seed: number) => ({ x: seeded(n * IN, seed), y: Int32Array.from({ length: n }, (_, i) => (i * 3 + seed) % CLASSES) })
const SCHEDULE = [{ n: 6, lr: 0.5 }, { n: 6, lr: 0.5 }, { n: 6, lr: 0.5 }, { n: 3, lr: 0.5 }, { n: 6, lr: 0.5 }, { n: 6, lr: 0.1 }, { n: 6, lr: 0.1 }]

/** Runs SCHEDULE with `step(x, y, lr)`; returns the losses, the logits of the last step and the final weights. */
async function train(step: (x: tf.Tensor, y: tf.Tensor, lr: number) => Promise<{ loss: number; logits: Float32Array }>, w: tf.Variable) {
  const losses: number[] = []
  let logits: Float32Array = new Float32Array()
  for (const [i, { n, lr }] of SCHEDULE.entries()) {
    const b = batch(n, i)
    const x = tf.tensor2d(b.x, [n, IN])
    const y = tf.tensor1d(b.y, 'int32')
    const r = await step(x, y, lr)
    losses.push(r.loss)
    logits = r.logits
    tf.dispose([x, y])
  }
  return { losses, logits, w: await w.data() }
}

const lossOf = (w: tf.Variable, x: tf.Tensor, y: tf.Tensor) => {
  const logits = tf.matMul(x as tf.Tensor2D, w)
  return { loss: tf.losses.softmaxCrossEntropy(tf.oneHot(y as tf.Tensor1D, CLASSES), logits) as tf.Scalar, logits }
}

describe.skipIf(adapters === 0)('compileTrainingStep', () => {
  let eager: Awaited<ReturnType<typeof train>>
  beforeAll(async () => {
    await tf.setBackend('cpu')
    const w = tf.variable(tf.tensor2d(seeded(IN * CLASSES, 99), [IN, CLASSES]), true, 'w')
    eager = await train(async (x, y, lr) => {
      let logits: Float32Array = new Float32Array()
      const { value, grads } = tf.variableGrads(() => {
        const r = lossOf(w, x, y)
        logits = r.logits.dataSync() as Float32Array
        return r.loss
      }, [w])
      w.assign(tf.sub(w, tf.mul(grads[w.name] as tf.Tensor, lr)))
      const loss = (await value.data())[0] as number
      tf.dispose([value, grads[w.name] as tf.Tensor])
      return { loss, logits }
    }, w)
    w.dispose()
    await startWebGpu()
  })
  afterAll(() => stopWebGpu())

  it('trains like the eager step, one plan per input shape, re-traced when the learning rate changes', async () => {
    const w = tf.variable(tf.tensor2d(seeded(IN * CLASSES, 99), [IN, CLASSES]), true, 'w-gpu')
    let lr = 0
    const step = compileTrainingStep({
      params: [{ name: 'weight', value: w }],
      loss: ([x, y]) => {
        const r = lossOf(w, x as tf.Tensor, y as tf.Tensor)
        return { loss: r.loss, outputs: [r.logits] }
      },
      update: (grads) => {
        expect(Object.keys(grads)).toEqual(['weight'])
        w.assign(tf.sub(w, tf.mul(grads.weight as tf.Tensor, lr)))
      },
      traceKey: () => lr,
    })
    const compiled = await train(async (x, y, stepLr) => {
      lr = stepLr
      const r = await step.run([x, y])
      return { loss: r.loss, logits: r.outputs[0] as Float32Array }
    }, w)
    for (const [i, loss] of compiled.losses.entries()) expect(Math.abs(loss - (eager.losses[i] as number)) / (eager.losses[i] as number), `step ${i}`).toBeLessThan(1e-5)
    compiled.w.forEach((v, i) => expect(v).toBeCloseTo(eager.w[i] as number, 5))
    expect(compiled.logits).toHaveLength(6 * CLASSES)
    compiled.logits.forEach((v, i) => expect(v).toBeCloseTo(eager.logits[i] as number, 4))
    const plans = step.stats()
    expect(Object.keys(plans)).toEqual(['6x7,6', '3x7,3'])
    // Shape 6 replayed (the weights above match only if the lr change re-traced: a replay bakes the lr in).
    expect(plans['6x7,6']?.mode).toBe('compiled')
    expect(plans['6x7,6']?.replays).toBeGreaterThanOrEqual(1)
    expect(plans['3x7,3']?.replays).toBe(0)
    step.dispose()
    w.dispose()
  })
})
