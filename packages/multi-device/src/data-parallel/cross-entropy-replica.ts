import { crossEntropy } from '@tinylab/train-loop'
import type { Replica, ReplicaModel } from './replica-spec'

/**
 * Trains a model (forward in training mode) with train-loop's `crossEntropy`, the loss `pnpm resnet train` uses on one
 * thread; buffers are its `kind: 'buffer'` tensors.
 */
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
