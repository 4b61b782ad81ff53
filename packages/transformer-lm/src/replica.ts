import * as tf from '@tensorflow/tfjs-core'
import type { NamedTensor } from '@tinylab/checkpoint-io'
import { nllLoss } from '@tinylab/train-loop'
import { type TransformerConfig, TransformerModel } from './transformer-model'

/** What @tinylab/multi-device's createDataParallel asks of a replica (its `Replica`, written out: no import of it). */
export interface LmReplica {
  parameters(): NamedTensor[]
  /** main.py's NLL over the shard: x `[seqLen, batch/N]` token ids, y the next tokens in the same layout. */
  loss(x: tf.Tensor, y: tf.Tensor): tf.Scalar
  dispose(): void
}

/**
 * A data-parallel replica of word_language_model's TransformerModel, built inside each worker of multi-device's
 * `createDataParallel`: the replicas take their shares of the batch columns, and dropout is seeded per replica
 * (`seed + rank`). The RNN cannot be one: its hidden state runs down the columns from batch to batch.
 *
 * ```ts
 * const dp = await createDataParallel({
 *   replicas: 2, device: 'wasm', batchAxis: 1,
 *   replica: { module: '@tinylab/transformer-lm', export: 'transformerReplica', options: { ntoken, ninp: 200, nhead: 2, nhid: 200, nlayers: 2, dropout: 0.2, seed: 1111 }, from: import.meta.url },
 * })
 * ```
 */
export function transformerReplica(config: TransformerConfig & { seed: number }, context: { rank: number }): LmReplica {
  const model = new TransformerModel({ ...config, seed: config.seed + context.rank })
  return {
    parameters: () => model.parameters(),
    // forward gives [seqLen, batch, ntoken] log-probabilities; rows and targets flatten in the same (t, b) order.
    loss: (x, y) => tf.tidy(() => nllLoss(model.forward(x as tf.Tensor2D, { training: true }), tf.reshape(y, [-1]))),
    dispose: () => model.dispose(),
  }
}
