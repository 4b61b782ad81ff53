/**
 * The Transformer's layer norm and attention softmax as named fused kernels (@tinylab/kernel-names) when the active
 * backend registers them (@tinylab/webgpu-backend does), each direction in one kernel where the composed ops record
 * ~10 (layer norm forward), ~25 (its gradient) and 2 + 4 (mask, softmax and its gradient) small kernels; any other
 * backend runs the composed ops, which autodiff differentiates.
 */
import * as tf from '@tensorflow/tfjs-core'
import { LAYER_NORM, LAYER_NORM_GRAD, type LayerNormAttrs, MASKED_SOFTMAX, SOFTMAX_GRAD } from '@tinylab/kernel-names'

function backendHas(...kernels: string[]): boolean {
  const backend = tf.getBackend()
  return kernels.every((k) => tf.getKernel(k, backend) !== undefined)
}

/** What tf.customGrad passes a function of three tensors. */
type CustomGradArgs = [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc]

/** torch.nn.LayerNorm over the last axis: biased variance, eps inside the square root. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  if (x.dtype === 'float32' && backendHas(LAYER_NORM, LAYER_NORM_GRAD)) {
    const fused = tf.customGrad((...args) => {
      const [xIn, gammaIn, betaIn, save] = args as CustomGradArgs
      const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM, { x: xIn, gamma: gammaIn, beta: betaIn }, { epsilon: eps } satisfies LayerNormAttrs) as tf.Tensor[]
      save([xIn, mean as tf.Tensor, rstd as tf.Tensor, gammaIn])
      return {
        value: y as tf.Tensor2D,
        gradFunc: (dy, saved) => {
          const [xs, means, rstds, gammas] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
          return tf.engine().runKernel(LAYER_NORM_GRAD, { dy, x: xs, mean: means, rstd: rstds, gamma: gammas }) as tf.Tensor[]
        },
      }
    })
    return fused(x, gamma, beta) as tf.Tensor2D
  }
  const { mean, variance } = tf.moments(x, -1, true)
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta)
}

/** softmax(scores + mask) over the last axis; scores [..., R, C], mask [R, C] a constant (no gradient flows to it). */
export function maskedSoftmax<T extends tf.Tensor>(scores: T, mask: tf.Tensor2D): T {
  if (scores.dtype === 'float32' && backendHas(MASKED_SOFTMAX, SOFTMAX_GRAD)) {
    const fused = tf.customGrad((...args) => {
      const [logits, save] = args as [tf.Tensor, tf.GradSaveFunc]
      const y = tf.engine().runKernel(MASKED_SOFTMAX, { logits, mask }) as tf.Tensor
      save([y])
      return { value: y, gradFunc: (dy, saved) => tf.engine().runKernel(SOFTMAX_GRAD, { dy, y: saved[0] as tf.Tensor }) as tf.Tensor }
    })
    return fused(scores) as T
  }
  return tf.softmax(tf.add(scores, mask)) as T
}
