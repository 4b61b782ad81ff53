import * as tf from '@tensorflow/tfjs-core'

/**
 * imagenet main.py's `accuracy(output, target, topk=(1,))`: the percentage of rows whose target is among the k
 * highest scores, for each k.
 *
 * ```ts
 * const [top1, top5] = accuracy(logits, labels, [1, 5]) // e.g. [12.5, 37.5]
 * ```
 */
export function accuracy(output: tf.Tensor2D, target: tf.Tensor1D, topk: readonly number[] = [1]): number[] {
  const [batch, classes] = output.shape
  if (target.shape[0] !== batch) throw new Error(`accuracy: output has ${batch} rows but target has ${target.shape[0]}`)
  const maxk = Math.max(...topk)
  if (maxk > classes) throw new Error(`accuracy: topk ${maxk} > number of classes ${classes}`)
  const hits = tf.tidy(() => {
    const { indices } = tf.topk(output, maxk, true) // [batch, maxk]
    const correct = tf.cast(tf.equal(indices, tf.expandDims(tf.cast(target, 'int32'), 1)), 'float32')
    return tf.cumsum(tf.sum(correct, 0)) // hits within the first k columns, for every k
  })
  const cum = hits.dataSync()
  hits.dispose()
  return topk.map((k) => ((cum[k - 1] as number) * 100) / batch)
}
