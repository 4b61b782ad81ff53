import * as tf from '@tensorflow/tfjs-core'
import { NLL_LOSS, NLL_LOSS_GRAD, type NllLossGradAttrs } from '@tinylab/kernel-names'
import { backendHas } from './fused-kernels'

/**
 * nn.NLLLoss() (mean over tokens) of log-probabilities [..., ntoken] against int32 targets with the leading shape.
 * One kernel each way when the active backend registers TinylabNllLoss and TinylabNllLossGrad (@tinylab/kernel-names;
 * @tinylab/webgpu-backend does); otherwise a flat gather picks one value per row (no [N, ntoken] one-hot tensor).
 *
 * ```ts
 * const loss = nllLoss(model.forward(data, { training: true }), targets) // scalar
 * ```
 */
export function nllLoss(logProbs: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const V = logProbs.shape[logProbs.rank - 1] as number
    const N = logProbs.size / V
    if (targets.size !== N) throw new Error(`nllLoss: ${N} rows of log-probabilities but ${targets.size} targets`)
    const rows = tf.reshape(logProbs, [N, V]) as tf.Tensor2D
    const labels = tf.reshape(tf.cast(targets, 'int32'), [N]) as tf.Tensor1D
    if (rows.dtype === 'float32' && backendHas(NLL_LOSS, NLL_LOSS_GRAD)) return fusedNllLoss(rows, labels)
    // tfjs-webgpu's gather addresses its input in float32, exact only below 2^24 elements (700 rows of WikiText-2's
    // 33,278 words are 23.3 M: a quarter of the rows picked a neighbour's value). Gather within blocks of rows below that.
    const blockRows = Math.max(1, Math.floor(GATHER_EXACT_ELEMENTS / V))
    const picked: tf.Tensor1D[] = []
    for (let start = 0; start < N; start += blockRows) {
      const n = Math.min(blockRows, N - start)
      const block = n === N ? rows : tf.slice(rows, [start, 0], [n, V])
      const label = n === N ? labels : tf.slice(labels, [start], [n])
      const flatIndex = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(V, 'int32')), label)
      picked.push(tf.gather(tf.reshape(block, [n * V]), flatIndex) as tf.Tensor1D)
    }
    return tf.neg(tf.mean(picked.length === 1 ? (picked[0] as tf.Tensor1D) : tf.concat(picked))) as tf.Scalar
  })
}

const GATHER_EXACT_ELEMENTS = 2 ** 24

/** The loss in one kernel, its gradient (−dy/N at each target) in another; the targets get no gradient. */
function fusedNllLoss(rows: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const attrs: NllLossGradAttrs = { classes: rows.shape[1] }
  const fused = tf.customGrad((...args) => {
    const [logProbs, save] = args as [tf.Tensor, tf.GradSaveFunc]
    save([labels])
    return {
      value: tf.engine().runKernel(NLL_LOSS, { logProbs, targets: labels }) as tf.Scalar,
      gradFunc: (dy, saved) => tf.engine().runKernel(NLL_LOSS_GRAD, { dy, targets: saved[0] as tf.Tensor }, attrs) as tf.Tensor,
    }
  })
  return fused(rows) as tf.Scalar
}
