/**
 * The word LM's data-parallel replica (`pnpm wordlm train --devices N`): each worker builds word_language_model's
 * TransformerModel and trains it with main.py's NLL on its share of the batch columns. Loaded by path inside the
 * replica workers (multi-device's createDataParallel), never imported by the main thread's training code.
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Replica, ReplicaContext } from '@tinylab/multi-device'
import { type TransformerConfig, TransformerModel, nllLoss } from '@tinylab/transformer-lm'

/** x: `[seqLen, batch/N]` token ids, y: the targets in the same layout. Dropout is seeded per replica (seed + rank). */
export function transformerReplica(options: TransformerConfig & { seed: number }, context: ReplicaContext): Replica {
  const model = new TransformerModel({ ...options, seed: options.seed + context.rank })
  return {
    parameters: () => model.parameters(),
    // forward gives [seqLen, batch, ntoken] log-probabilities; rows and targets flatten in the same (t, b) order.
    loss: (x, y) => tf.tidy(() => nllLoss(model.forward(x as tf.Tensor2D, { training: true }), tf.reshape(y, [-1]))),
    dispose: () => model.dispose(),
  }
}
