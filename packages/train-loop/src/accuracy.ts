import * as tf from '@tensorflow/tfjs-core'

/** Hits within the first k columns of the top-maxk predictions, for every k (a [maxk] tensor computed on the device). */
function cumulativeHits(output: tf.Tensor2D, target: tf.Tensor1D, topk: readonly number[]): tf.Tensor1D {
  const [batch, classes] = output.shape
  if (target.shape[0] !== batch) throw new Error(`accuracy: output has ${batch} rows but target has ${target.shape[0]}`)
  const maxk = Math.max(...topk)
  if (maxk > classes) throw new Error(`accuracy: topk ${maxk} > number of classes ${classes}`)
  return tf.tidy(() => {
    const { indices } = tf.topk(output, maxk, true) // [batch, maxk]
    const correct = tf.cast(tf.equal(indices, tf.expandDims(tf.cast(target, 'int32'), 1)), 'float32')
    return tf.cumsum(tf.sum(correct, 0)) as tf.Tensor1D
  })
}

function percentages(cum: ArrayLike<number>, topk: readonly number[], batch: number): number[] {
  return topk.map((k) => ((cum[k - 1] as number) * 100) / batch)
}

/**
 * imagenet main.py's `accuracy(output, target, topk=(1,))`: the percentage of rows whose target is among the k
 * highest scores, for each k. Reads the result back synchronously (`dataSync`): on WebGPU in Node, which has no
 * synchronous readback, use `accuracyAsync`.
 *
 * ```ts
 * const [top1, top5] = accuracy(logits, labels, [1, 5]) // e.g. [12.5, 37.5]
 * ```
 */
export function accuracy(output: tf.Tensor2D, target: tf.Tensor1D, topk: readonly number[] = [1]): number[] {
  const hits = cumulativeHits(output, target, topk)
  try {
    return percentages(hits.dataSync(), topk, output.shape[0])
  } finally {
    hits.dispose()
  }
}

/**
 * `accuracy`, read back with `await data()`: works on every backend, WebGPU included.
 *
 * ```ts
 * const [top1, top5] = await accuracyAsync(logits, labels, [1, 5]) // e.g. [12.5, 37.5]
 * ```
 */
export async function accuracyAsync(output: tf.Tensor2D, target: tf.Tensor1D, topk: readonly number[] = [1]): Promise<number[]> {
  const hits = cumulativeHits(output, target, topk)
  try {
    return percentages(await hits.data(), topk, output.shape[0])
  } finally {
    hits.dispose()
  }
}

/**
 * For each k, how many rows have their label among the k highest of their logits (row-major [batch, classes], already
 * on the host), ranked as tf.topk ranks: a label is in the top k when fewer than k scores rank above it (greater, or
 * equal at a lower index). Counts, not percentages: data-parallel replicas add theirs up before dividing.
 *
 * ```ts
 * const [hits1, hits5] = topkHits(logitValues, labelValues, 200, [1, 5])
 * ```
 */
export function topkHits(logits: ArrayLike<number>, target: ArrayLike<number>, classes: number, topk: readonly number[]): number[] {
  const batch = target.length
  if (logits.length !== batch * classes) throw new Error(`accuracy: ${logits.length} logits are not ${batch} rows of ${classes}`)
  const hits = topk.map(() => 0)
  for (let r = 0; r < batch; r++) {
    const base = r * classes
    const label = target[r] as number
    const score = logits[base + label] as number
    let above = 0
    for (let j = 0; j < classes; j++) {
      const v = logits[base + j] as number
      if (v > score || (v === score && j < label)) above++
    }
    topk.forEach((k, i) => {
      if (above < k) hits[i] = (hits[i] as number) + 1
    })
  }
  return hits
}

/**
 * `accuracy` on logits already read back: the percentages of `topkHits`, for a step whose logits come back anyway (a
 * compiled WebGPU step), without queuing more GPU work.
 *
 * ```ts
 * const [top1, top5] = accuracyFromLogits(logitValues, labelValues, 200, [1, 5])
 * ```
 */
export function accuracyFromLogits(logits: ArrayLike<number>, target: ArrayLike<number>, classes: number, topk: readonly number[] = [1]): number[] {
  return topkHits(logits, target, classes, topk).map((h) => (100 * h) / target.length)
}
