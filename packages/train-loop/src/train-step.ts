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
   * disposed after the step. It may return `{ loss, output }`: the outputs (e.g. logits for top-k accuracy) come back
   * in the result's `outputs`, one per micro-batch.
   */
  loss: (micro: number) => tf.Scalar | { loss: tf.Scalar; output: tf.Tensor }
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
  /** What `loss` returned as `output`, per micro-batch, in order; the caller disposes them. */
  outputs?: tf.Tensor[]
}

/** What a step leaves on the device for the caller to read: each micro-batch's loss and the pre-clip norm. */
interface DeviceStepResult {
  losses: tf.Scalar[]
  weights: readonly number[]
  gradNorm?: tf.Scalar
  outputs: tf.Tensor[]
}

/** The step itself, with no readback (so it runs on WebGPU); the caller reads and disposes the returned scalars. */
function stepOnDevice(options: TrainStepOptions): DeviceStepResult {
  const { params, optimizer } = options
  const micro = options.microBatches ?? 1
  if (!(Number.isInteger(micro) && micro >= 1)) throw new Error(`trainStep: microBatches must be an integer >= 1, got ${micro}`)
  const weights = options.microWeights ?? Array.from({ length: micro }, () => 1 / micro)
  if (weights.length !== micro) throw new Error(`trainStep: ${weights.length} microWeights for ${micro} micro-batches`)

  const byVariable = new Map(params.map((p) => [p.value.name, p.name]))
  const vars = params.map((p) => p.value)
  let sum: Record<string, tf.Tensor> = {}
  const losses: tf.Scalar[] = []
  const outputs: tf.Tensor[] = []
  let gradNorm: tf.Scalar | undefined
  try {
    for (let m = 0; m < micro; m++) {
      const w = weights[m] as number
      const { value, grads } = tf.variableGrads(() => {
        const r = options.loss(m)
        if (!('output' in r)) return r
        outputs.push(tf.keep(r.output))
        return r.loss
      }, vars)
      losses.push(value)
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

    if (options.clipNorm !== undefined) {
      const clipped = clipGradNorm(sum, options.clipNorm)
      tf.dispose(Object.values(sum))
      sum = clipped.grads
      gradNorm = clipped.totalNorm
    }
    optimizer.step(sum)
    return gradNorm === undefined ? { losses, weights, outputs } : { losses, weights, outputs, gradNorm }
  } catch (err) {
    tf.dispose([...losses, ...outputs])
    gradNorm?.dispose()
    throw err
  } finally {
    tf.dispose(Object.values(sum))
  }
}

/** Turns the device results into numbers, summing the micro-batch losses in float64 in micro-batch order. */
function toNumbers(r: DeviceStepResult, values: ArrayLike<number>[], norm: ArrayLike<number> | undefined): TrainStepResult {
  let loss = 0
  values.forEach((v, m) => {
    loss += (r.weights[m] as number) * (v[0] as number)
  })
  const result: TrainStepResult = norm === undefined ? { loss } : { loss, gradNorm: norm[0] as number }
  if (r.outputs.length > 0) result.outputs = r.outputs
  return result
}

function disposeStep(r: DeviceStepResult): void {
  tf.dispose(r.losses)
  r.gradNorm?.dispose()
}

/**
 * One optimisation step: forward + backward (over micro-batches), optional clipping, update. Leaves no tensors behind.
 * Reads the loss back synchronously (`dataSync`): on WebGPU in Node, which has no synchronous readback, use
 * `trainStepAsync` (same step, same numbers).
 *
 * ```ts
 * const { loss } = trainStep({
 *   params: model.parameters(), optimizer: sgd, clipNorm: 0.25,
 *   loss: () => tf.tidy(() => nllLoss(model.forward(x, { training: true }), y)),
 * })
 * ```
 */
export function trainStep(options: TrainStepOptions): TrainStepResult {
  const r = stepOnDevice(options)
  try {
    return toNumbers(r, r.losses.map((l) => l.dataSync()), r.gradNorm?.dataSync())
  } finally {
    disposeStep(r)
  }
}

/**
 * `trainStep` with the loss (and gradient norm) read back by `await data()`: works on every backend, WebGPU included.
 * The update itself is computed entirely on the device (clipping too), and numbers equal `trainStep`'s.
 *
 * ```ts
 * const { loss, gradNorm } = await trainStepAsync({
 *   params: model.parameters(), optimizer: sgd, clipNorm: 0.25,
 *   loss: () => tf.tidy(() => nllLoss(model.forward(x, { training: true }), y)),
 * })
 * ```
 */
export async function trainStepAsync(options: TrainStepOptions): Promise<TrainStepResult> {
  const r = stepOnDevice(options)
  try {
    const values = await Promise.all(r.losses.map((l) => l.data()))
    return toNumbers(r, values, r.gradNorm === undefined ? undefined : await r.gradNorm.data())
  } finally {
    disposeStep(r)
  }
}

function checkedMean(sum: number, weights: number, total: number | undefined): number {
  const denom = total ?? weights
  if (!(denom > 0)) throw new Error('evaluate: no batches (or zero total weight)')
  return sum / denom
}

/**
 * The weighted mean of a loss over batches without building a gradient tape (word_language_model's `evaluate`:
 * `sum(len(data) * loss) / total`). Reads each loss synchronously (`dataSync`): on WebGPU use `evaluateAsync`.
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
  return checkedMean(sum, weights, total)
}

/**
 * `evaluate` with each loss read by `await data()`: works on every backend, WebGPU included; the batches may come
 * from an async iterable (a streaming loader).
 *
 * ```ts
 * const valLoss = await evaluateAsync(valBatches, (b) => ({ loss: lossOf(b), weight: b.seqLen }), totalWeight)
 * ```
 * @param total divide by this instead of the sum of weights (main.py divides by `len(data_source) - 1`).
 */
export async function evaluateAsync<B>(
  batches: Iterable<B> | AsyncIterable<B>,
  loss: (batch: B) => { loss: tf.Scalar; weight: number },
  total?: number,
): Promise<number> {
  let sum = 0
  let weights = 0
  for await (const batch of batches) {
    const r = loss(batch)
    try {
      sum += r.weight * ((await r.loss.data())[0] as number)
    } finally {
      r.loss.dispose()
    }
    weights += r.weight
  }
  return checkedMean(sum, weights, total)
}
