import * as tf from '@tensorflow/tfjs-core'
import { afterAll, describe, expect, it } from 'vitest'
import './_tfjs'
import { listWebGpuAdapters, startWebGpu, stopWebGpu } from '@tinylab/webgpu-backend'
import { maxAbsDiff, relError } from '@tinylab/test-utils/close'
import { accuracy, accuracyAsync, crossEntropy, evaluateAsync, nllLoss, SGD, trainStep, trainStepAsync } from '../src/index'

// WebGPU in Node has no synchronous readback (tensor.dataSync() throws), so every value train-loop reports must come
// back through `await data()`. This runs one small softmax-regression training on the cpu backend (the reference) and on
// WebGPU and checks that the async step, on-device clipping, accuracy and evaluation give the cpu's numbers.

const adapters = await listWebGpuAdapters()

/** Dawn starts once per file; later tests switch back to it. */
async function useWebGpu(): Promise<void> {
  if (tf.findBackend('webgpu') === null) await startWebGpu()
  else await tf.setBackend('webgpu')
}
const reason = adapters.length === 0 ? 'no WebGPU adapter on this machine (install Mesa lavapipe: mesa-vulkan-drivers)' : undefined
if (reason !== undefined && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

afterAll(() => stopWebGpu())

const ROWS = 64
const FEATURES = 32
const CLASSES = 40 // w is 32x40 = 1280 and logits 64x40 = 2560 elements: above tfjs-webgpu's 1000-element cpu hand-off

/** Deterministic pseudo-random values in [-1, 1) (no ties in the logits, so top-k is the same on every backend). */
function noise(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const v = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453
    return 2 * (v - Math.floor(v)) - 1
  })
}

const X = noise(ROWS * FEATURES, 1)
const W0 = noise(FEATURES * CLASSES, 2).map((v) => 0.3 * v)
const LABELS = Int32Array.from(noise(ROWS, 3), (v) => Math.floor(((v + 1) / 2) * CLASSES))

interface RunResult {
  losses: number[]
  gradNorms: number[]
  weights: Float32Array
  top: number[]
  evalLoss: number
  leaked: number
}

async function run(): Promise<RunResult> {
  const before = tf.memory().numTensors
  const init = tf.tensor2d(W0, [FEATURES, CLASSES])
  const w = tf.variable(init, true, 'w')
  init.dispose()
  const params = [{ name: 'weight', value: w }]
  const sgd = new SGD(params, { lr: 0.5, momentum: 0.9 })
  const x = tf.tensor2d(X, [ROWS, FEATURES])
  const y = tf.tensor1d(LABELS, 'int32')
  const half = ROWS / 2
  const lossOf = (rows: [number, number]) =>
    tf.tidy(() => {
      const logits = tf.matMul(tf.slice(x, [rows[0], 0], [rows[1], FEATURES]), w)
      const target = tf.oneHot(tf.slice(y, [rows[0]], [rows[1]]), CLASSES)
      return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))) as tf.Scalar
    })
  const losses: number[] = []
  const gradNorms: number[] = []
  // clipNorm 0.05 clips (coef < 1); 100 does not (coef >= 1: gradients pass unchanged).
  for (const clipNorm of [0.05, 100, 0.05]) {
    const r = await trainStepAsync({ params, optimizer: sgd, clipNorm, microBatches: 2, loss: (m) => lossOf(m === 0 ? [0, half] : [half, half]) })
    losses.push(r.loss)
    gradNorms.push(r.gradNorm as number)
  }
  const logits = tf.tidy(() => tf.matMul(x, w) as tf.Tensor2D)
  const top = await accuracyAsync(logits, y, [1, 5])
  const evalLoss = await evaluateAsync([[0, half] as [number, number], [half, half] as [number, number]], (rows) => ({ loss: lossOf(rows), weight: rows[1] }))
  const weights = (await w.data()) as Float32Array
  tf.dispose([logits, x, y, w])
  sgd.dispose()
  return { losses, gradNorms, weights, top, evalLoss, leaked: tf.memory().numTensors - before }
}

describe.skipIf(reason !== undefined)(`train-loop on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('trainStepAsync (micro-batches, on-device clipping, momentum), accuracyAsync and evaluateAsync match the cpu backend', async () => {
    await tf.setBackend('cpu')
    const cpu = await run()
    await useWebGpu()
    expect(tf.getBackend()).toBe('webgpu')
    const gpu = await run()

    expect(cpu.leaked).toBe(0)
    expect(gpu.leaked).toBe(0)
    // The scenario exercises both clipping branches: the first step clips, the second does not.
    expect(cpu.gradNorms[0]).toBeGreaterThan(0.05)
    expect(cpu.gradNorms[1]).toBeLessThan(100)
    expect(relError(gpu.losses, cpu.losses)).toBeLessThan(1e-5)
    expect(relError(gpu.gradNorms, cpu.gradNorms)).toBeLessThan(1e-5)
    expect(maxAbsDiff(gpu.weights, cpu.weights)).toBeLessThan(1e-5)
    expect(maxAbsDiff(gpu.weights, W0)).toBeGreaterThan(1e-2) // training moved the weights
    expect(gpu.top).toEqual(cpu.top)
    expect(relError([gpu.evalLoss], [cpu.evalLoss])).toBeLessThan(1e-5)
  })

  it('crossEntropy and nllLoss run the fused log-softmax and NLL kernels there, with the cpu backend\'s losses and gradients', async () => {
    // Odd sizes; nllLoss gets rank-3 log-probabilities as the LM's [bptt, batch, ntoken].
    const cases = [
      { name: 'crossEntropy', shape: [37, 11], loss: (x: tf.Tensor, y: tf.Tensor) => crossEntropy(x, y) },
      { name: 'nllLoss', shape: [5, 3, 1003], loss: (x: tf.Tensor, y: tf.Tensor) => nllLoss(tf.logSoftmax(x), y) },
    ]
    const runOn = async (shape: number[], loss: (x: tf.Tensor, y: tf.Tensor) => tf.Scalar) => {
      const before = tf.memory().numTensors
      const classes = shape[shape.length - 1] as number
      const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1)
      const x = tf.tensor(noise(rows * classes, 4).map((v) => 6 * v), shape)
      const y = tf.tensor(Int32Array.from(noise(rows, 5), (v) => Math.floor(((v + 1) / 2) * classes)), shape.slice(0, -1), 'int32')
      let out: tf.Tensor[] = []
      const profile = await tf.profile(() => {
        const { value, grads } = tf.valueAndGrads((logits: tf.Tensor) => loss(logits, y))([x])
        out = [value, ...grads]
      })
      const values = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())))
      tf.dispose([...out, x, y])
      return { values, kernels: new Set(profile.kernelNames), leaked: tf.memory().numTensors - before }
    }
    for (const c of cases) {
      await tf.setBackend('cpu')
      const cpu = await runOn(c.shape, c.loss)
      await useWebGpu()
      const gpu = await runOn(c.shape, c.loss)
      expect(cpu.kernels.has('TinylabNllLoss'), c.name).toBe(false)
      expect(gpu.kernels.has('TinylabNllLoss'), c.name).toBe(true)
      expect(gpu.kernels.has('TinylabNllLossGrad'), c.name).toBe(true)
      if (c.name === 'crossEntropy') expect(gpu.kernels.has('TinylabLogSoftmax')).toBe(true)
      expect([cpu.leaked, gpu.leaked], c.name).toEqual([0, 0])
      expect(relError(gpu.values[0] as Float32Array, cpu.values[0] as Float32Array), `${c.name} loss`).toBeLessThan(1e-5)
      expect(relError(gpu.values[1] as Float32Array, cpu.values[1] as Float32Array), `${c.name} gradient`).toBeLessThan(1e-5)
    }
  })

  it('the sync trainStep and accuracy fail there with the message to read asynchronously, and leak nothing', async () => {
    await useWebGpu()
    const before = tf.memory().numTensors
    const init = tf.zeros([FEATURES, CLASSES])
    const w = tf.variable(init, true, 'w-sync')
    init.dispose()
    const params = [{ name: 'weight', value: w }]
    const sgd = new SGD(params, { lr: 0.1 })
    const x = tf.tensor2d(X, [ROWS, FEATURES])
    const y = tf.tensor1d(LABELS, 'int32')
    const logits = () => tf.matMul(x, w) as tf.Tensor2D
    expect(() => trainStep({ params, optimizer: sgd, clipNorm: 1, loss: () => tf.mean(tf.square(logits())) as tf.Scalar })).toThrow(/await tensor\.data\(\)/)
    const out = logits()
    expect(() => accuracy(out, y, [1])).toThrow(/await tensor\.data\(\)/)
    tf.dispose([out, x, y, w])
    sgd.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
