import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import './_tfjs'
import { compileForward, listWebGpuAdapters, startWebGpu, stopWebGpu } from '@tinylab/webgpu-backend'
import { type BatchResult, type Classifier, classifierEvaluator, evaluateBatch } from '../src/index'

// classifierEvaluator on WebGPU with a compile hook (webgpu-backend's compileForward): a small conv net with eval-mode
// batch norm, evaluated batch by batch, gives evaluateBatch's losses (within 1e-5 relative) and top-k accuracies, one
// compiled plan per batch shape that replays, and leaves no tensors; without the hook it is evaluateBatch itself.
// The real ResNet-18: examples/resnet-tiny-imagenet/test/compiled-eval.slow.test.ts.

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const CLASSES = 12
const noise = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed * 78.233))

/** conv 3x3 (4 channels) → batch norm with running statistics → ReLU → global mean → dense. */
function smallNet(): Classifier & { dispose(): void } {
  const w = tf.variable(tf.tensor4d(noise(3 * 3 * 3 * 4, 1), [3, 3, 3, 4]))
  const mean = tf.variable(tf.tensor1d(noise(4, 2).map((v) => 0.1 * v)))
  const variance = tf.variable(tf.tensor1d(noise(4, 3).map((v) => 1 + 0.5 * v)))
  const dense = tf.variable(tf.tensor2d(noise(4 * CLASSES, 4), [4, CLASSES]))
  return {
    forward: (x) =>
      tf.tidy(() => {
        const h = tf.relu(tf.batchNorm(tf.conv2d(x as tf.Tensor4D, w, 1, 'same'), mean, variance, undefined, undefined, 1e-5))
        return tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, dense)
      }),
    dispose: () => tf.dispose([w, mean, variance, dense]),
  }
}

const BATCHES = [6, 6, 6, 6, 6, 5]

async function evaluateAll(evaluate: (x: tf.Tensor, y: tf.Tensor1D) => Promise<BatchResult>): Promise<BatchResult[]> {
  const results: BatchResult[] = []
  for (const [i, n] of BATCHES.entries()) {
    const x = tf.tensor4d(noise(n * 8 * 8 * 3, 10 + i), [n, 8, 8, 3])
    const y = tf.tensor1d(Int32Array.from(noise(n, 20 + i), (v) => Math.floor(((v + 1) / 2) * CLASSES)), 'int32')
    results.push(await evaluate(x, y))
    tf.dispose([x, y])
  }
  return results
}

describe.skipIf(adapters === 0)('classifierEvaluator', () => {
  beforeAll(() => startWebGpu())
  afterAll(() => stopWebGpu())

  it("compiled: evaluateBatch's losses and accuracies, a replayed plan per batch shape, no tensors left", async () => {
    const net = smallNet()
    const want = await evaluateAll((x, y) => evaluateBatch(net, x, y, [1, 5]))
    const before = tf.memory().numTensors
    const plans: ReturnType<typeof compileForward>[] = []
    const evaluator = classifierEvaluator(net, {
      topk: [1, 5],
      compile: (fn, options) => {
        plans.push(compileForward(fn, options))
        return plans[0] as ReturnType<typeof compileForward>
      },
    })
    const got = await evaluateAll((x, y) => evaluator.evaluate(x, y))
    expect(tf.memory().numTensors).toBe(before)
    got.forEach((r, i) => {
      const w = want[i] as BatchResult
      expect(Math.abs(r.loss - w.loss) / w.loss, `batch ${i}`).toBeLessThanOrEqual(1e-5)
      expect(r.acc).toEqual(w.acc)
    })
    expect(plans).toHaveLength(1)
    expect(plans[0]?.stats()).toMatchObject({ '6x8x8x3,6': { mode: 'compiled', replays: 2 }, '5x8x8x3,5': { mode: 'warming-up', eagerCalls: 1 } })
    evaluator.dispose()
    expect(await evaluateAll((x, y) => classifierEvaluator(net, { topk: [1, 5] }).evaluate(x, y))).toEqual(want)
    net.dispose()
  })
})
