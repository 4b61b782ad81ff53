import * as tf from '@tensorflow/tfjs-core'

export interface ClipResult {
  /** The clipped gradients (new tensors; the caller disposes them and the inputs). */
  grads: Record<string, tf.Tensor>
  /** The global L2 norm before clipping, as torch returns it. */
  totalNorm: number
}

/**
 * torch.nn.utils.clip_grad_norm_ (torch 1.13, norm_type 2): `total = ‖(‖g₁‖, ‖g₂‖, …)‖`,
 * `coef = maxNorm / (total + 1e-6)`, and every gradient is scaled by `min(coef, 1)`.
 *
 * ```ts
 * const { grads: clipped, totalNorm } = clipGradNorm(grads, 0.25)
 * ```
 */
export function clipGradNorm(grads: Readonly<Record<string, tf.Tensor>>, maxNorm: number): ClipResult {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`)
  const names = Object.keys(grads)
  const totalNormT = tf.tidy(() => {
    if (names.length === 0) return tf.scalar(0)
    const squares = names.map((n) => tf.sum(tf.square(grads[n] as tf.Tensor)))
    return tf.sqrt(tf.addN(squares))
  })
  const totalNorm = (totalNormT.dataSync() as Float32Array)[0] as number
  totalNormT.dispose()
  const coef = Math.min(maxNorm / (totalNorm + 1e-6), 1)
  const out: Record<string, tf.Tensor> = {}
  for (const n of names) out[n] = tf.mul(grads[n] as tf.Tensor, coef)
  return { grads: out, totalNorm }
}
