/**
 * Log-softmax over the last axis, as F.log_softmax(x, dim=-1) at the end of word_language_model's models.
 *
 * tf.logSoftmax composes ~8 full passes over its input each way (max, sub, exp, sum, log, sub; and exp, sum, mul, sub
 * in the gradient). Over the LM's [bptt·batch, 33,278] logits that is a good part of a training step, so when the
 * active backend registers TinylabLogSoftmax and TinylabLogSoftmaxGrad (@tinylab/kernel-names; @tinylab/native-cpu does
 * for 'wasm+native', @tinylab/webgpu-backend for 'webgpu'), they run each direction in one kernel; any other backend
 * gets tf.logSoftmax.
 *
 * ```ts
 * const logProbs = logSoftmax(tf.tensor2d([[2, 0]])) // [[-0.1269, -2.1269]]
 * ```
 */
import * as tf from '@tensorflow/tfjs-core'
import { LOG_SOFTMAX, LOG_SOFTMAX_GRAD } from '@tinylab/kernel-names'
import { backendHas } from './fused-kernels'

const fused = tf.customGrad((...args) => {
  const [logits, save] = args as [tf.Tensor, tf.GradSaveFunc]
  const y = tf.engine().runKernel(LOG_SOFTMAX, { logits }) as tf.Tensor
  save([y])
  return {
    value: y,
    gradFunc: (dy, saved) => tf.engine().runKernel(LOG_SOFTMAX_GRAD, { dy, y: saved[0] as tf.Tensor }) as tf.Tensor,
  }
})

export function logSoftmax<T extends tf.Tensor>(logits: T): T {
  if (logits.dtype !== 'float32' || !backendHas(LOG_SOFTMAX, LOG_SOFTMAX_GRAD)) return tf.logSoftmax(logits)
  return fused(logits) as T
}
