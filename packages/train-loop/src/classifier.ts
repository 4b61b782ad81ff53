import * as tf from '@tensorflow/tfjs-core'
import { LOG_SOFTMAX, LOG_SOFTMAX_GRAD, NLL_LOSS, NLL_LOSS_GRAD } from '@tinylab/kernel-names'
import { accuracyAsync, accuracyFromLogits } from './accuracy'
import type { ForwardCompiler } from './forward-compiler'
import { backendHas } from './fused-kernels'
import { logSoftmax } from './log-softmax'
import { nllLoss } from './nll-loss'
import type { TrainableParam } from './sgd'
import { type GradientApplier, trainStepAsync } from './train-step'

/** A classifier whose forward returns logits `[N, C]`; the loss is applied outside (see `crossEntropy`). */
export interface Classifier {
  forward(x: tf.Tensor, options: { training: boolean }): tf.Tensor
}

/** One batch's mean loss and its top-k accuracies, in percent, one per k. */
export interface BatchResult {
  loss: number
  acc: number[]
}

/**
 * imagenet main.py's criterion, `nn.CrossEntropyLoss()`: the mean softmax cross-entropy of logits `[N, C]` (or
 * `[..., C]`, flattened as `logits.view(-1, C)`) against integer labels. Where the backend registers the fused
 * log-softmax and NLL kernels (@tinylab/kernel-names; @tinylab/webgpu-backend does) it is their NLL of the log-softmax,
 * 2 kernels each way; elsewhere tf.losses.softmaxCrossEntropy of one-hot labels.
 *
 * ```ts
 * const loss = crossEntropy(tf.tensor2d([[2, 0]]), tf.tensor1d([0], 'int32')) // 0.1269
 * ```
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1] as number
    const flat = logits.rank === 2 ? logits : tf.reshape(logits, [-1, classes])
    const y = tf.reshape(tf.cast(labels, 'int32'), [-1]) as tf.Tensor1D
    if (y.shape[0] !== flat.shape[0]) throw new Error(`crossEntropy: ${flat.shape[0]} logit rows but ${y.shape[0]} labels`)
    if (flat.dtype === 'float32' && backendHas(LOG_SOFTMAX, LOG_SOFTMAX_GRAD, NLL_LOSS, NLL_LOSS_GRAD)) return nllLoss(logSoftmax(flat), y)
    return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), flat) as tf.Scalar
  })
}

export interface ClassifierStepOptions {
  model: Classifier
  params: readonly TrainableParam[]
  optimizer: GradientApplier
  /** Images per forward/backward; the gradients of the micro-batches accumulate to the batch's (default: the batch). */
  microBatch?: number
  /** The k of each returned accuracy (default [1]). */
  topk?: readonly number[]
}

/**
 * One SGD step of a classifier on a batch: forward (in micro-batches), `crossEntropy`, backward, update; the accuracy
 * comes from the logits the step itself returns. Disposes nothing it was given.
 */
export async function classifierStep(options: ClassifierStepOptions, x: tf.Tensor, y: tf.Tensor1D): Promise<BatchResult> {
  const n = y.shape[0]
  const size = Math.min(options.microBatch ?? n, n)
  const sizes: number[] = []
  for (let s = 0; s < n; s += size) sizes.push(Math.min(size, n - s))
  const xs = sizes.length > 1 ? tf.split(x, sizes, 0) : [x]
  const ys = sizes.length > 1 ? tf.split(y, sizes, 0) : [y]
  let outputs: tf.Tensor[] = []
  try {
    const r = await trainStepAsync({
      params: options.params,
      optimizer: options.optimizer,
      microBatches: sizes.length,
      microWeights: sizes.map((s) => s / n),
      loss: (m) => {
        const output = options.model.forward(xs[m] as tf.Tensor, { training: true })
        return { loss: crossEntropy(output, ys[m] as tf.Tensor), output }
      },
    })
    outputs = r.outputs ?? []
    const logits = (outputs.length > 1 ? tf.concat(outputs, 0) : outputs[0]) as tf.Tensor2D
    const acc = await accuracyAsync(logits, y, options.topk ?? [1])
    if (outputs.length > 1) logits.dispose()
    return { loss: r.loss, acc }
  } finally {
    tf.dispose(outputs)
    if (sizes.length > 1) tf.dispose([...xs, ...ys])
  }
}

/** The loss and top-k accuracies of a batch in evaluation mode (no gradients); read back with `await data()`. */
export async function evaluateBatch(model: Classifier, x: tf.Tensor, y: tf.Tensor1D, topk: readonly number[] = [1]): Promise<BatchResult> {
  const { logits, loss } = tf.tidy(() => {
    const logits = model.forward(x, { training: false }) as tf.Tensor2D
    return { logits, loss: crossEntropy(logits, y) }
  })
  try {
    return { loss: (await loss.data())[0] as number, acc: await accuracyAsync(logits, y, topk) }
  } finally {
    tf.dispose([logits, loss])
  }
}

/** Evaluates a classifier batch by batch (see `classifierEvaluator`). */
export interface ClassifierEvaluator {
  /** The batch's mean loss and top-k accuracies; disposes nothing it was given. */
  evaluate(x: tf.Tensor, y: tf.Tensor1D): Promise<BatchResult>
  dispose(): void
}

/**
 * `evaluateBatch` for a whole run: with `compile` (e.g. @tinylab/webgpu-backend's `compileForward`) the forward pass
 * and the loss run compiled, one plan per batch shape kept for the run, and the top-k accuracies are counted on the
 * logits read back (`accuracyFromLogits`, ranked as tf.topk ranks); without it, `evaluateBatch` as it is.
 *
 * ```ts
 * const evaluator = classifierEvaluator(model, { topk: [1, 5], compile: compileForward })
 * const { loss, acc: [top1, top5] } = await evaluator.evaluate(images, labels)
 * evaluator.dispose()
 * ```
 */
export function classifierEvaluator(model: Classifier, options: { topk?: readonly number[]; compile?: ForwardCompiler } = {}): ClassifierEvaluator {
  const topk = options.topk ?? [1]
  const compiled = options.compile?.(
    ([x, y]) => {
      const logits = model.forward(x as tf.Tensor, { training: false })
      return [crossEntropy(logits, y as tf.Tensor), logits]
    },
    { name: 'eval' },
  )
  return {
    async evaluate(x, y) {
      if (compiled === undefined) return evaluateBatch(model, x, y, topk)
      const [loss, logits] = (await compiled.run([x, y])) as [Float32Array, Float32Array]
      const labels = await y.data()
      return { loss: loss[0] as number, acc: accuracyFromLogits(logits, labels, logits.length / labels.length, topk) }
    },
    dispose: () => compiled?.dispose(),
  }
}
