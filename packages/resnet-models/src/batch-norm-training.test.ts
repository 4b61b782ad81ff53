import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { relError } from '@tinylab/test-utils/close'
import { beforeAll, describe, expect, it } from 'vitest'
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '@tinylab/kernel-names'
import { batchNormTraining } from './batch-norm-training'

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

/** Reference: tfjs's own moments + batchNorm4d, differentiated by autodiff (a separate implementation of the same maths). */
function autodiffReference(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, weights: tf.Tensor4D) {
  const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const { mean, variance } = tf.moments(xi, [0, 1, 2])
    return tf.sum(tf.mul(tf.batchNorm4d(xi as tf.Tensor4D, mean as tf.Tensor1D, variance as tf.Tensor1D, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5), weights))
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2])
  return { y: tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta, gamma, 1e-5), mean, variance, grads: tf.grads(f)([x, gamma, beta]) }
}

describe('batchNormTraining', () => {
  // Odd sizes; an offset mean (5) so the centring matters; 3 channels with different scales.
  it.each<[[number, number, number, number]]>([
    [[2, 3, 5, 3]],
    [[4, 7, 7, 8]],
  ])('matches moments + batchNorm4d and their autodiff gradients for x of shape %j', (shape) => {
    const c = shape[3] as number
    const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), tf.range(1, c + 1)), 5) as tf.Tensor4D
    const gamma = tf.randomUniform([c], 0.5, 1.5, 'float32', 4) as tf.Tensor1D
    const beta = tf.randomUniform([c], -1, 1, 'float32', 5) as tf.Tensor1D
    // A non-uniform upstream gradient, so dx is not trivially zero (Σ y over a channel has zero gradient).
    const weights = tf.randomNormal(shape, 0, 1, 'float32', 6) as tf.Tensor4D
    const ref = autodiffReference(x, gamma, beta, weights)
    const ours = batchNormTraining(x, gamma, beta, 1e-5)
    const grads = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTraining(xi as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y, weights)),
    )([x, gamma, beta])
    expect(relError(ours.y.dataSync(), ref.y.dataSync())).toBeLessThan(1e-5)
    expect(relError(ours.mean.dataSync(), ref.mean.dataSync())).toBeLessThan(1e-6)
    expect(relError(ours.variance.dataSync(), ref.variance.dataSync())).toBeLessThan(1e-5)
    ;['x', 'gamma', 'beta'].forEach((name, i) => {
      expect(relError((grads[i] as tf.Tensor).dataSync(), (ref.grads[i] as tf.Tensor).dataSync()), `d${name}`).toBeLessThan(1e-4)
    })
  })

  it('leaves no tensors behind inside a tidy, across repeated gradient steps', () => {
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D
    const gamma = tf.variable(tf.ones([3]) as tf.Tensor1D)
    const beta = tf.variable(tf.zeros([3]) as tf.Tensor1D)
    const step = (): void =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const r = batchNormTraining(x, gamma, beta, 1e-5)
          return tf.sum(tf.mul(r.y, r.y)).add(tf.sum(r.mean)) as tf.Scalar
        }, [gamma, beta])
        gamma.assign(tf.sub(gamma, tf.mul(grads[gamma.name] as tf.Tensor, 0.01)))
      })
    step()
    const before = tf.memory().numTensors
    for (let i = 0; i < 5; i++) step()
    expect(tf.memory().numTensors).toBe(before)
  })
})

// The fused kernels of @tinylab/native-cpu (registered for 'wasm+native' when its addon is built; CI builds it).
const native = await initBackend({ device: 'wasm+native' }).then(
  () => '',
  (error: unknown) => (error instanceof Error ? error.message : String(error)),
)
if (native !== '' && process.env['CI'] === 'true') throw new Error(`CI builds the native addon, but: ${native}`)

describe.skipIf(native !== '')(`batchNormTraining on wasm+native's fused kernels${native ? ` (skipped: ${native})` : ''}`, () => {
  // 64·9·9 = 5,184 values per channel around a mean of 300: the fused kernel's one-pass shifted variance must not
  // lose what float32 E[x²] - E[x]² would.
  const shape: [number, number, number, number] = [64, 9, 9, 16]
  const run = async (device: 'cpu' | 'wasm+native') => {
    await initBackend({ device })
    const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), tf.range(1, 17)), 300)) as tf.Tensor4D
    const gamma = tf.randomUniform([16], 0.5, 1.5, 'float32', 4) as tf.Tensor1D
    const beta = tf.randomUniform([16], -1, 1, 'float32', 5) as tf.Tensor1D
    const weights = tf.randomNormal(shape, 0, 1, 'float32', 6) as tf.Tensor4D
    const before = tf.memory().numTensors
    let outputs: Float32Array[] = []
    const profile = await tf.profile(() => {
      const r = batchNormTraining(x, gamma, beta, 1e-5)
      const grads = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(batchNormTraining(xi as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y, weights)),
      )([x, gamma, beta])
      const all = [r.y, r.mean, r.variance, ...grads]
      outputs = all.map((t) => t.dataSync() as Float32Array)
      tf.dispose(all)
    })
    expect(tf.memory().numTensors, 'tensors left behind').toBe(before)
    tf.dispose([x, gamma, beta, weights])
    return { outputs, kernels: new Set(profile.kernelNames) }
  }

  it('gives the composed path\'s outputs and gradients (cpu backend) within 1e-4, through the two fused kernels', async () => {
    const reference = await run('cpu')
    const fused = await run('wasm+native')
    expect(reference.kernels.has(BATCH_NORM_TRAINING)).toBe(false)
    expect(fused.kernels).toContain(BATCH_NORM_TRAINING)
    expect(fused.kernels).toContain(BATCH_NORM_TRAINING_GRAD)
    const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta']
    names.forEach((name, i) => expect(relError(fused.outputs[i] as Float32Array, reference.outputs[i] as Float32Array), name).toBeLessThan(1e-4))
  })
})
