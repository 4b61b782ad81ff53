import type * as tf from '@tensorflow/tfjs-core'

/** What can cross a worker boundary as options: plain JSON. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * How a worker builds its replica. Workers cannot receive functions, so a replica is named by a module, an export
 * and JSON options, like `'@tinylab/resnet-models#resnet18'` with `{ numClasses: 200 }`.
 *
 * The export is called as `await exported(options, { rank, replicas })` and must return either
 * - a {@link Replica} (has `loss`), or
 * - a model with `parameters()` and `forward(x, { training })` returning logits; it is then trained with the mean
 *   softmax cross-entropy over every position (`[N, C]` for images, `[seqLen, batch, vocab]` for the LM).
 */
export interface ReplicaSpec {
  /** A package name, an absolute path or a `file:` URL. Bare names resolve from `from`. */
  module: string
  /** Export to call (default `'createReplica'`). */
  export?: string
  options?: JsonValue
  /**
   * Where a bare `module` name is resolved from (a file path or `file:` URL; default: the current directory).
   * Pass your own `import.meta.url` so the packages your code depends on are found.
   */
  from?: string
}

/** A named trainable (or buffer) variable, as NamedTensor from the shared contract. */
export interface ReplicaTensor {
  name: string
  value: tf.Variable
  kind?: 'parameter' | 'buffer'
}

/**
 * One copy of the model inside a worker. `parameters()` must list the same names and shapes, in the same order, on
 * every replica; `buffers()` (BatchNorm running stats) are taken from replica 0 after each step when
 * `broadcastBuffers` is on, as DistributedDataParallel's `broadcast_buffers=True` does.
 */
export interface Replica {
  parameters(): ReplicaTensor[]
  buffers?(): ReplicaTensor[]
  /** The MEAN loss over this shard (the coordinator weights shards by size, so the result equals the full batch's). */
  loss(x: tf.Tensor, y: tf.Tensor): tf.Scalar
  /**
   * Optional: the same loss and the output it came from (`[N, C]` logits), so that a step asked for `topk` can count
   * top-k hits on the training batch (imagenet main.py's train Acc@1/Acc@5) without a second forward pass.
   */
  lossWithOutput?(x: tf.Tensor, y: tf.Tensor): { loss: tf.Scalar; output: tf.Tensor }
  dispose?(): void
}

/** A model as resnet-models / transformer-lm export them (structural: no import of those packages). */
export interface ReplicaModel {
  parameters(): ReplicaTensor[]
  namedTensors?(): ReplicaTensor[]
  forward(x: tf.Tensor, options: { training: boolean }): tf.Tensor
  dispose?(): void
}

/** Second argument of a replica factory: which replica this is (e.g. to seed dropout differently per replica). */
export interface ReplicaContext {
  rank: number
  replicas: number
}
