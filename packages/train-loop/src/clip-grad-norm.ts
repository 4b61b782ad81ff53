import * as tf from '@tensorflow/tfjs-core'
import { CLIP_COEFFICIENT, type ClipCoefficientAttrs, SUM_SQUARES, type SumSquaresAttrs } from '@tinylab/kernel-names'
import { backendHas } from './fused-kernels'

export interface ClipResult {
  /** The clipped gradients (new tensors; the caller disposes them and the inputs). */
  grads: Record<string, tf.Tensor>
  /**
   * The global L2 norm before clipping, as torch returns it: a scalar tensor the caller reads (`await totalNorm.data()`,
   * which also works on WebGPU) and disposes.
   */
  totalNorm: tf.Scalar
}

/**
 * torch 1.13's `total_norm` and `clip_coef_clamped` from the non-empty float32 gradients: through the fused
 * `TinylabSumSquares` and `TinylabClipCoefficient` when the backend has them (@tinylab/webgpu-backend registers
 * both): three or four GPU dispatches for all the gradients instead of two per gradient and five more for the
 * coefficient.
 */
function normAndCoefficient(grads: tf.Tensor[], maxNorm: number): { totalNorm: tf.Scalar; coef: tf.Scalar } {
  const terms = grads.filter((g) => g.size > 0)
  if (terms.length > 0 && terms.every((g) => g.dtype === 'float32') && backendHas(SUM_SQUARES)) {
    const inputs = Object.fromEntries(terms.map((g, i) => [`x${i}`, g]))
    const attrs: SumSquaresAttrs = { count: terms.length }
    const sums = tf.engine().runKernel(SUM_SQUARES, inputs, attrs) as tf.Tensor
    if (backendHas(CLIP_COEFFICIENT)) {
      const clipAttrs: ClipCoefficientAttrs = { maxNorm }
      const [totalNorm, coef] = tf.engine().runKernel(CLIP_COEFFICIENT, { sums }, clipAttrs) as tf.Tensor[]
      return { totalNorm: tf.reshape(totalNorm as tf.Tensor, []) as tf.Scalar, coef: tf.reshape(coef as tf.Tensor, []) as tf.Scalar }
    }
    return withCoefficient(tf.sqrt(tf.sum(sums)) as tf.Scalar, maxNorm)
  }
  if (terms.length === 0) return withCoefficient(tf.scalar(0), maxNorm)
  return withCoefficient(tf.sqrt(tf.addN(terms.map((g) => tf.sum(tf.square(g))))) as tf.Scalar, maxNorm)
}

/** `clip_coef = maxNorm / (total + 1e-6)`, clamped at 1. */
function withCoefficient(totalNorm: tf.Scalar, maxNorm: number): { totalNorm: tf.Scalar; coef: tf.Scalar } {
  return { totalNorm, coef: tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(totalNorm, tf.scalar(1e-6))), tf.scalar(1)) as tf.Scalar }
}

/**
 * torch.nn.utils.clip_grad_norm_ (torch 1.13, norm_type 2): `total = ‖(‖g₁‖, ‖g₂‖, …)‖`,
 * `coef = maxNorm / (total + 1e-6)`, and every gradient is scaled by `min(coef, 1)`.
 *
 * Everything stays on the device, as in torch 1.13 (`clip_coef_clamped = torch.clamp(clip_coef, max=1.0)` is a tensor
 * and `g.mul_(clip_coef_clamped)` multiplies by it): no value is read back, so this works on backends without a
 * synchronous readback (WebGPU in Node). When `coef >= 1` the factor is exactly 1, which leaves every gradient unchanged.
 *
 * ```ts
 * const { grads: clipped, totalNorm } = clipGradNorm(grads, 0.25)
 * console.log((await totalNorm.data())[0])
 * totalNorm.dispose()
 * ```
 */
export function clipGradNorm(grads: Readonly<Record<string, tf.Tensor>>, maxNorm: number): ClipResult {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`)
  const names = Object.keys(grads)
  return tf.tidy(() => {
    const { totalNorm, coef } = normAndCoefficient(names.map((n) => grads[n] as tf.Tensor), maxNorm)
    const out: Record<string, tf.Tensor> = {}
    for (const n of names) out[n] = tf.mul(grads[n] as tf.Tensor, coef)
    return { grads: out, totalNorm }
  })
}
