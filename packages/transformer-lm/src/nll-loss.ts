import * as tf from '@tensorflow/tfjs-core'

/**
 * nn.NLLLoss() (mean over tokens) of log-probabilities [..., ntoken] against int32 targets with the leading shape.
 * Picks one value per row with a flat gather instead of a one-hot product: no [N, ntoken] one-hot tensor.
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
    const flatIndex = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), tf.reshape(tf.cast(targets, 'int32'), [N]))
    return tf.neg(tf.mean(tf.gather(tf.reshape(logProbs, [N * V]), flatIndex))) as tf.Scalar
  })
}
