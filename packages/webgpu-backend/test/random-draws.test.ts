/**
 * compileStep's hostRandom 'gpu-uniform': uniform [0, 1) draws a step makes on the CPU (tf.randomUniform, tf.dropout's
 * noise) are redrawn on the GPU at every replay. Checked against what a uniform distribution must give: values in
 * [0, 1), mean 1/2 and variance 1/12 within 5 standard errors, a different draw every replay; dropout keeps about
 * 1 − rate of the units, scaled by 1/(1 − rate); an upload outside [0, 1) is still refused; a training step through
 * dropout compiles and trains.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileStep, listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const N = 4096

describe.skipIf(adapters === 0)("compileStep hostRandom 'gpu-uniform'", () => {
  beforeAll(async () => {
    await startWebGpu()
    tf.env().set('WEBGPU_CPU_FORWARD', false)
  })
  afterAll(() => stopWebGpu())

  it('draws every tensor of a step in one dispatch, each its own values (the stream of the upload it replaces)', async () => {
    const x = tf.zeros([N])
    const step = compileStep(([z]) => [tf.add(z as tf.Tensor, tf.randomUniform([N])), tf.add(z as tf.Tensor, tf.randomUniform([N])), tf.add(tf.slice(z as tf.Tensor, [0], [5]), tf.randomUniform([5]))], {
      hostRandom: 'gpu-uniform',
      seed: 7,
    })
    for (let i = 0; i < 3; i++) await step.run([x])
    expect(step.stats().programs.UniformDraw).toBe(1)
    const [a, b, c] = (await step.run([x])) as Float32Array[]
    expect(a).not.toEqual(b)
    expect(Array.from(c as Float32Array).every((v) => v >= 0 && v < 1)).toBe(true)
    // The small tensor's elements are the first of their own stream, not a copy of another tensor's.
    expect(Array.from(c as Float32Array)).not.toEqual(Array.from((a as Float32Array).subarray(0, 5)))
    step.dispose()
    x.dispose()
  })

  it('redraws tf.randomUniform(shape, 0, 1) on the GPU: uniform moments, a new draw every replay', async () => {
    const x = tf.zeros([N])
    const step = compileStep(([z]) => [tf.add(z as tf.Tensor, tf.randomUniform([N]))], { hostRandom: 'gpu-uniform', seed: 7 })
    for (let i = 0; i < 3; i++) await step.run([x])
    expect(step.stats().mode).toBe('compiled')
    expect(step.stats().programs.UniformDraw).toBe(1)
    const [a] = (await step.run([x])) as Float32Array[]
    const [b] = (await step.run([x])) as Float32Array[]
    for (const u of [a, b] as Float32Array[]) {
      expect(u.every((v) => v >= 0 && v < 1)).toBe(true)
      const mean = u.reduce((s, v) => s + v, 0) / N
      const variance = u.reduce((s, v) => s + (v - mean) ** 2, 0) / N
      expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N))
      // Var of the sample variance of U(0,1) is (1/80 − 1/144)/N.
      expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt((1 / 80 - 1 / 144) / N))
    }
    expect((a as Float32Array).some((v, i) => v !== (b as Float32Array)[i])).toBe(true)
    step.dispose()
    x.dispose()
  })

  it('tf.dropout keeps about 1 − rate of the units, scaled by 1/(1 − rate)', async () => {
    const x = tf.ones([N])
    const rate = 0.3
    const step = compileStep(([z]) => [tf.dropout(z as tf.Tensor, rate)], { hostRandom: 'gpu-uniform' })
    let got: Float32Array = new Float32Array()
    for (let i = 0; i < 4; i++) got = ((await step.run([x])) as Float32Array[])[0] as Float32Array
    expect(step.stats().mode).toBe('compiled')
    const kept = got.filter((v) => v !== 0)
    kept.forEach((v) => expect(v).toBeCloseTo(1 / (1 - rate), 5))
    expect(Math.abs(kept.length / N - (1 - rate))).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / N))
    step.dispose()
    x.dispose()
  })

  it('an upload that changes between calls and is not a [0, 1) draw is still refused', async () => {
    const x = tf.zeros([8])
    const step = compileStep(([z]) => [tf.add(z as tf.Tensor, tf.randomUniform([8], 0, 2))], { hostRandom: 'gpu-uniform' })
    // tf.randomUniform(…, 0, 2) may happen to draw only values below 1 in both calls: 2^-16 for 8 values, twice.
    const runs = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) await step.run([x])
    }
    await expect(runs()).rejects.toThrow(/upload \d+ \(float32\[8\]\) has different values in consecutive calls/)
    x.dispose()
  })

  it('a training step through dropout compiles, and its loss falls', async () => {
    const w = tf.variable(tf.fill([16, 4], 0.1))
    const x = tf.ones([32, 16])
    const target = tf.ones([32, 4])
    const step = compileStep(
      ([input, t]) => {
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.dropout(tf.matMul(input as tf.Tensor2D, w), 0.2), t as tf.Tensor))), [w])
        w.assign(tf.sub(w, tf.mul(grads[w.name] as tf.Tensor, 0.05)))
        return [value]
      },
      { hostRandom: 'gpu-uniform' },
    )
    const losses: number[] = []
    for (let i = 0; i < 12; i++) losses.push((((await step.run([x, target])) as Float32Array[])[0] as Float32Array)[0] as number)
    expect(step.stats().mode).toBe('compiled')
    expect(step.stats().programs.UniformDraw).toBe(1)
    expect(losses.every(Number.isFinite)).toBe(true)
    expect(losses[11] as number).toBeLessThan((losses[0] as number) / 2)
    step.dispose()
    tf.dispose([w, x, target])
  })
})
