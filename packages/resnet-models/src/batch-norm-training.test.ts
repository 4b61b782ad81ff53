import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { relError } from '@tinylab/test-utils/close'
import { beforeAll, describe, expect, it } from 'vitest'
import { batchNormTraining } from './batch-norm-training'

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

/** Reference: tfjs's own moments + batchNorm4d, differentiated by autodiff (a separate implementation of the same maths). */
function autodiffReference(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, weights: tf.Tensor4D) {
  const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const { mean, variance } = tf.moments(xi, [0, 1, 2])
    return tf.sum(tf.mul(tf.batchNorm4d(xi as tf.Tensor4D, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5), weights))
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2])
  return { y: tf.batchNorm4d(x, mean, variance, beta, gamma, 1e-5), mean, variance, grads: tf.grads(f)([x, gamma, beta]) }
}

describe('batchNormTraining', () => {
  // Odd sizes; an offset mean (5) so the centring matters; 3 channels with different scales.
  it.each([
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
