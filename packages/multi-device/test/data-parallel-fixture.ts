// A BN-free conv + dense classifier for the data-parallel tests, built by a replica worker from this module
// (`createReplica`) and mirrored in PyTorch by the reference script in data-parallel.test.ts.
import * as tf from '@tensorflow/tfjs-core'

export interface FixtureOptions {
  seed?: number
  /** 'nhwc': x is [N, H, W, C]. 'features-first': x is [H*W*C, N] (the batch on axis 1, like the LM's [seqLen, batch]). */
  layout?: 'nhwc' | 'features-first'
  /** Seed replica r with `seed + 1000·r`: only replica 0's weights may matter (DDP broadcasts them). */
  seedPerRank?: boolean
  /**
   * Add BatchNorm-like buffers: `bn.running_mean` (0.9·old + 0.1·per-channel input mean, in training) and an int32
   * `bn.num_batches_tracked`, as torch's BatchNorm2d keeps them.
   */
  withBuffers?: boolean
  /** Make forward throw (to test error reporting). */
  failInForward?: boolean
}

export const FIXTURE = { size: 6, channels: 2, filters: 3, classes: 4 } as const

/** Deterministic initial values (a plain LCG) so that every process can rebuild the same weights. */
export function fixtureInitialWeights(seed: number): { convW: Float32Array; convB: Float32Array; fcW: Float32Array; fcB: Float32Array } {
  let state = seed >>> 0
  const next = (scale: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return (state / 2 ** 32 - 0.5) * 2 * scale
  }
  const { size, channels, filters, classes } = FIXTURE
  const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => next(scale))
  const features = (size / 2) * (size / 2) * filters
  return { convW: fill(3 * 3 * channels * filters, 0.5), convB: fill(filters, 0.1), fcW: fill(features * classes, 0.3), fcB: fill(classes, 0.1) }
}

/** conv3x3 (same) -> relu -> avgpool 2 -> flatten (NHWC order) -> dense. */
export function createReplica(options: FixtureOptions = {}, context: { rank: number } = { rank: 0 }) {
  const { size, channels, filters, classes } = FIXTURE
  const w = fixtureInitialWeights((options.seed ?? 1) + (options.seedPerRank ? 1000 * context.rank : 0))
  const features = (size / 2) * (size / 2) * filters
  const params = [
    { name: 'conv.weight', value: tf.variable(tf.tensor4d(w.convW, [3, 3, channels, filters])), kind: 'parameter' as const },
    { name: 'conv.bias', value: tf.variable(tf.tensor1d(w.convB)), kind: 'parameter' as const },
    { name: 'fc.weight', value: tf.variable(tf.tensor2d(w.fcW, [features, classes])), kind: 'parameter' as const },
    { name: 'fc.bias', value: tf.variable(tf.tensor1d(w.fcB)), kind: 'parameter' as const },
  ]
  const [convW, convB, fcW, fcB] = params.map((p) => p.value) as [tf.Variable, tf.Variable, tf.Variable, tf.Variable]
  const buffers = options.withBuffers
    ? [
        { name: 'bn.running_mean', value: tf.variable(tf.zeros([channels]), false), kind: 'buffer' as const },
        { name: 'bn.num_batches_tracked', value: tf.variable(tf.scalar(0, 'int32'), false), kind: 'buffer' as const },
      ]
    : []
  return {
    parameters: () => params,
    namedTensors: () => [...params, ...buffers],
    forward(x: tf.Tensor, forwardOptions: { training: boolean }): tf.Tensor {
      if (options.failInForward) throw new Error('fixture: forward failed on purpose')
      return tf.tidy(() => {
        const images =
          options.layout === 'features-first'
            ? tf.reshape(tf.transpose(x), [-1, size, size, channels]) // (N, H, W, C)
            : (x as tf.Tensor4D)
        const [mean, count] = buffers.map((b) => b.value)
        if (forwardOptions.training && mean && count) {
          mean.assign(tf.add(tf.mul(mean, 0.9), tf.mul(tf.mean(images, [0, 1, 2]), 0.1)))
          count.assign(tf.add(count, tf.scalar(1, 'int32')))
        }
        const h = tf.relu(tf.add(tf.conv2d(images as tf.Tensor4D, convW as tf.Tensor4D, 1, 'same'), convB))
        const pooled = tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid') // (N, H/2, W/2, filters)
        return tf.add(tf.matMul(tf.reshape(pooled, [-1, features]), fcW), fcB) // (N, classes)
      })
    },
    dispose: () => params.forEach((p) => p.value.dispose()),
  }
}

/**
 * flatten -> dense 72x8 -> relu -> dense 8x8 -> relu -> dense 8x4, with the buffers of `withBuffers`: a model with
 * parameters of one size (the two [8] biases), which share tfjs's buffer pool entries when uploaded.
 */
export function createMlpReplica(options: { seed?: number } = {}) {
  const { size, channels, classes } = FIXTURE
  let state = (options.seed ?? 1) >>> 0
  const next = (scale: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return (state / 2 ** 32 - 0.5) * 2 * scale
  }
  const layer = (name: string, inputs: number, outputs: number) => [
    { name: `${name}.weight`, value: tf.variable(tf.tensor2d(Float32Array.from({ length: inputs * outputs }, () => next(0.4)), [inputs, outputs])), kind: 'parameter' as const },
    { name: `${name}.bias`, value: tf.variable(tf.tensor1d(Float32Array.from({ length: outputs }, () => next(0.1)))), kind: 'parameter' as const },
  ]
  const features = size * size * channels
  const params = [...layer('fc1', features, 8), ...layer('fc2', 8, 8), ...layer('fc3', 8, classes)]
  const buffers = [
    { name: 'bn.running_mean', value: tf.variable(tf.zeros([channels]), false), kind: 'buffer' as const },
    { name: 'bn.num_batches_tracked', value: tf.variable(tf.scalar(0, 'int32'), false), kind: 'buffer' as const },
  ]
  const [w1, b1, w2, b2, w3, b3] = params.map((p) => p.value) as tf.Variable[]
  const [mean, count] = buffers.map((b) => b.value) as [tf.Variable, tf.Variable]
  return {
    parameters: () => params,
    namedTensors: () => [...params, ...buffers],
    forward(x: tf.Tensor, forwardOptions: { training: boolean }): tf.Tensor {
      return tf.tidy(() => {
        if (forwardOptions.training) {
          mean.assign(tf.add(tf.mul(mean, 0.9), tf.mul(tf.mean(x, [0, 1, 2]), 0.1)))
          count.assign(tf.add(count, tf.scalar(1, 'int32')))
        }
        const dense = (h: tf.Tensor, w: tf.Variable, b: tf.Variable): tf.Tensor => tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b)
        const h1 = tf.relu(dense(tf.reshape(x, [-1, features]), w1 as tf.Variable, b1 as tf.Variable))
        const h2 = tf.relu(dense(h1, w2 as tf.Variable, b2 as tf.Variable))
        return dense(h2, w3 as tf.Variable, b3 as tf.Variable)
      })
    },
    dispose: () => [...params, ...buffers].forEach((p) => p.value.dispose()),
  }
}
