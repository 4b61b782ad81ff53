import * as tf from '@tensorflow/tfjs-core'
import { clipGradNorm } from './clip-grad-norm'
import type { TrainableParam } from './sgd'

/** Anything that applies gradients keyed by parameter name: `SGD`, or a hand-written update. */
export interface GradientApplier {
  step(grads: Readonly<Record<string, tf.Tensor>>): void
}

export interface TrainStepOptions {
  params: readonly TrainableParam[]
  /**
   * The mean loss of micro-batch `micro` (0 when there is one). It runs under tfjs' gradient tape; tensors it makes are
   * disposed after the step unless it `tf.keep`s them (e.g. logits for accuracy).
   */
  loss: (micro: number) => tf.Scalar
  optimizer: GradientApplier
  /**
   * Gradient accumulation: split the batch into this many micro-batches, backprop each, and apply the weighted sum
   * of their gradients once. With `microWeights` = each micro-batch's share of the examples (default: equal), the
   * result equals the gradient of the whole batch's mean loss, up to float rounding and per-micro-batch BatchNorm.
   */
  microBatches?: number
  microWeights?: readonly number[]
  /** Clip the accumulated gradients to this global L2 norm first (torch.nn.utils.clip_grad_norm_). */
  clipNorm?: number
}

export interface TrainStepResult {
  /** The batch's mean loss (weighted over micro-batches). */
  loss: number
  /** The global gradient norm before clipping, when clipping was asked for. */
  gradNorm?: number
}

/**
 * One optimisation step: forward + backward (over micro-batches), optional clipping, update. Leaves no tensors behind.
 *
 * ```ts
 * const { loss } = trainStep({
 *   params: model.parameters(), optimizer: sgd, clipNorm: 0.25,
 *   loss: () => tf.tidy(() => nllLoss(model.forward(x, { training: true }), y)),
 * })
 * ```
 */
export function trainStep(options: TrainStepOptions): TrainStepResult {
  const { params, optimizer } = options
  const micro = options.microBatches ?? 1
  if (!(Number.isInteger(micro) && micro >= 1)) throw new Error(`trainStep: microBatches must be an integer >= 1, got ${micro}`)
  const weights = options.microWeights ?? Array.from({ length: micro }, () => 1 / micro)
  if (weights.length !== micro) throw new Error(`trainStep: ${weights.length} microWeights for ${micro} micro-batches`)

  const byVariable = new Map(params.map((p) => [p.value.name, p.name]))
  const vars = params.map((p) => p.value)
  let sum: Record<string, tf.Tensor> = {}
  let lossSum = 0
  for (let m = 0; m < micro; m++) {
    const w = weights[m] as number
    const { value, grads } = tf.variableGrads(() => options.loss(m), vars)
    lossSum += w * ((value.dataSync() as Float32Array)[0] as number)
    value.dispose()
    const next: Record<string, tf.Tensor> = {}
    for (const [varName, g] of Object.entries(grads)) {
      const name = byVariable.get(varName) as string
      const prev = sum[name]
      next[name] = tf.tidy(() => {
        const scaled = micro === 1 ? g.clone() : tf.mul(g, w)
        return prev === undefined ? scaled : tf.add(prev, scaled)
      })
      g.dispose()
      prev?.dispose()
    }
    sum = next
  }

  let gradNorm: number | undefined
  if (options.clipNorm !== undefined) {
    const clipped = clipGradNorm(sum, options.clipNorm)
    tf.dispose(Object.values(sum))
    sum = clipped.grads
    gradNorm = clipped.totalNorm
  }
  optimizer.step(sum)
  tf.dispose(Object.values(sum))
  return gradNorm === undefined ? { loss: lossSum } : { loss: lossSum, gradNorm }
}

/**
 * The weighted mean of a loss over batches without building a gradient tape (word_language_model's `evaluate`:
 * `sum(len(data) * loss) / total`).
 *
 * ```ts
 * const valLoss = evaluate(valBatches, (b) => ({ loss: lossOf(b), weight: b.seqLen }), totalWeight)
 * ```
 * @param total divide by this instead of the sum of weights (main.py divides by `len(data_source) - 1`).
 */
export function evaluate<B>(batches: Iterable<B>, loss: (batch: B) => { loss: tf.Scalar; weight: number }, total?: number): number {
  let sum = 0
  let weights = 0
  for (const batch of batches) {
    const r = loss(batch)
    sum += r.weight * ((r.loss.dataSync() as Float32Array)[0] as number)
    weights += r.weight
    r.loss.dispose()
  }
  const denom = total ?? weights
  if (!(denom > 0)) throw new Error('evaluate: no batches (or zero total weight)')
  return sum / denom
}

export interface TrainOptions<B> {
  epochs: number
  /** First epoch number (1-based like main.py's `range(1, epochs+1)`); resume passes the next epoch. */
  startEpoch?: number
  /** The batches of one epoch. */
  batches: (epoch: number) => Iterable<B>
  /** One step on a batch; returns its loss (use `trainStep`, or multi-device's data-parallel `step`, which is async). */
  step: (batch: B, index: number, epoch: number) => number | Promise<number>
  /** Called after every step: logging. */
  onStep?: (info: { epoch: number; index: number; loss: number }) => void
  /** Called after every epoch: validation, checkpointing, lr schedule. */
  onEpochEnd?: (epoch: number) => void | Promise<void>
  /** Stop after the current step (Ctrl-C); `train` then resolves with `{ stopped: true }`. */
  signal?: AbortSignal
}

/**
 * The whole loop, flat: for each epoch, for each batch, step; then the epoch hook.
 *
 * ```ts
 * await train({ epochs: 2, batches: () => loader, step: (b) => trainStep({ ... }).loss, onEpochEnd: validate })
 * ```
 */
export async function train<B>(options: TrainOptions<B>): Promise<{ stopped: boolean; epochsDone: number }> {
  const start = options.startEpoch ?? 1
  let epochsDone = 0
  for (let epoch = start; epoch < start + options.epochs; epoch++) {
    let index = 0
    for (const batch of options.batches(epoch)) {
      if (options.signal?.aborted) return { stopped: true, epochsDone }
      const loss = await options.step(batch, index, epoch)
      options.onStep?.({ epoch, index, loss })
      index++
    }
    if (options.signal?.aborted) return { stopped: true, epochsDone }
    await options.onEpochEnd?.(epoch)
    epochsDone++
  }
  return { stopped: false, epochsDone }
}
