/**
 * compileForward: a forward-only function (a two-layer perceptron reading variables, with a row picked by an int32
 * input) compiled per input shape on lavapipe: its outputs equal the eager webgpu ones bit for bit and the cpu
 * backend's within 1e-5, each shape gets its own plan that replays from the fourth call, a variable assigned between
 * calls is read at its new value, and replays create no tensors.
 */
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops'
import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileForward, listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const IN = 9
const HIDDEN = 13
const OUT = 6
const seeded = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 12.9898) * 0.5)

/** The calls: rows, and the row whose log-softmax is returned; the weights change before call 6. */
const CALLS = [5, 5, 5, 5, 3, 5, 5, 3, 3, 3].map((rows, i) => ({ rows, pick: (i * 7) % rows }))

async function run(compiled: boolean): Promise<{ outputs: Float32Array[][]; tensors: number[]; stats?: ReturnType<ReturnType<typeof compileForward>['stats']> }> {
  const w1 = tf.variable(tf.tensor2d(seeded(IN * HIDDEN, 1), [IN, HIDDEN]), false, `w1-${compiled}`)
  const w2 = tf.variable(tf.tensor2d(seeded(HIDDEN * OUT, 2), [HIDDEN, OUT]), false, `w2-${compiled}`)
  const fn = ([x, pick]: readonly tf.Tensor[]) => {
    const logits = tf.matMul(tf.relu(tf.matMul(x as tf.Tensor2D, w1)), w2)
    return [logits, tf.logSoftmax(tf.gather(logits, pick as tf.Tensor1D))]
  }
  const forward = compiled ? compileForward(fn, { name: 'mlp' }) : undefined
  const outputs: Float32Array[][] = []
  const tensors: number[] = []
  for (const [i, { rows, pick }] of CALLS.entries()) {
    if (i === 6) w2.assign(tf.mul(w2, 1.5))
    const inputs = [tf.tensor2d(seeded(rows * IN, 10 + i), [rows, IN]), tf.tensor1d([pick], 'int32')]
    if (forward) outputs.push((await forward.run(inputs)) as Float32Array[])
    else {
      const out = tf.tidy(() => fn(inputs))
      outputs.push((await Promise.all(out.map((t) => t.data()))) as Float32Array[])
      tf.dispose(out)
    }
    tf.dispose(inputs)
    tensors.push(tf.memory().numTensors)
  }
  const stats = forward?.stats()
  forward?.dispose()
  tf.dispose([w1, w2])
  return { outputs, tensors, stats }
}

describe.skipIf(adapters === 0)('compileForward', () => {
  let cpu: Awaited<ReturnType<typeof run>>
  beforeAll(async () => {
    await tf.setBackend('cpu')
    cpu = await run(false)
    await startWebGpu()
  })
  afterAll(() => stopWebGpu())

  it('one plan per input shape, replayed; the eager values, the current weights, no new tensors', async () => {
    const eager = await run(false)
    const got = await run(true)
    expect(got.outputs).toEqual(eager.outputs)
    got.outputs.forEach((outs, i) => outs.forEach((v, k) => expect(relError(v, cpu.outputs[i]?.[k] as Float32Array), `call ${i} output ${k}`).toBeLessThanOrEqual(1e-5)))
    // The weights scaled before call 6 change its logits (a plan reads the variables, not a copy made when traced).
    expect(got.outputs[6]?.[0]).not.toEqual(got.outputs[5]?.[0])
    expect(Object.keys(got.stats ?? {})).toEqual(['5x9,1', '3x9,1'])
    expect(got.stats?.['5x9,1']).toMatchObject({ mode: 'compiled', eagerCalls: 3, replays: 3 })
    expect(got.stats?.['3x9,1']).toMatchObject({ mode: 'compiled', eagerCalls: 3, replays: 1 })
    // From the second shape's plan on (call 8), calls create no tensors.
    expect(new Set(got.tensors.slice(7)).size).toBe(1)
  })
})
