import * as tf from '@tensorflow/tfjs-core'
import type { Replica, ReplicaModel } from './replica-spec'

/**
 * Mean softmax cross-entropy over every position, like `nn.CrossEntropyLoss()` on `logits.view(-1, C)` and
 * `targets.view(-1)` (imagenet main.py; word_language_model main.py flattens `[seqLen, batch, vocab]` the same way).
 *
 * ```ts
 * const loss = crossEntropy(tf.tensor2d([[2, 0]]), tf.tensor1d([0], 'int32'))
 * ```
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1] as number
    const flatLogits = tf.reshape(logits, [-1, classes]) // (positions, C)
    const flatLabels = tf.reshape(tf.cast(labels, 'int32'), [-1]) // (positions)
    if (flatLabels.shape[0] !== flatLogits.shape[0]) {
      throw new Error(`crossEntropy: ${flatLogits.shape[0]} logit rows but ${flatLabels.shape[0]} labels`)
    }
    const picked = tf.sum(tf.mul(tf.oneHot(flatLabels as tf.Tensor1D, classes, 1, 0, 'float32'), tf.logSoftmax(flatLogits)), -1)
    return tf.neg(tf.mean(picked)) as tf.Scalar
  })
}

/** Trains a model (forward in training mode) with {@link crossEntropy}; buffers are its `kind: 'buffer'` tensors. */
export function crossEntropyReplica(model: ReplicaModel): Replica {
  return {
    parameters: () => model.parameters(),
    buffers: () => (model.namedTensors?.() ?? []).filter((t) => t.kind === 'buffer'),
    loss: (x, y) => crossEntropy(model.forward(x, { training: true }), y),
    lossWithOutput: (x, y) => {
      const output = model.forward(x, { training: true })
      return { loss: crossEntropy(output, y), output }
    },
    dispose: () => model.dispose?.(),
  }
}

/** Accepts what a replica module's export returned: a {@link Replica} as is, a model wrapped with cross-entropy. */
export function toReplica(value: unknown, where: string): Replica {
  const candidate = value as Partial<Replica & ReplicaModel> | null
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.parameters !== 'function') {
    throw new Error(`${where} returned ${String(value)}: expected a replica ({ parameters(), loss(x, y) }) or a model ({ parameters(), forward(x, { training }) })`)
  }
  if (typeof candidate.loss === 'function') return candidate as Replica
  if (typeof candidate.forward === 'function') return crossEntropyReplica(candidate as ReplicaModel)
  throw new Error(`${where} returned an object with parameters() but neither loss(x, y) nor forward(x, { training })`)
}
