/** Largest |a-b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)))
  return m
}

/**
 * Relative error as ‖a-b‖∞ / max(‖b‖∞, floor): elementwise relative error explodes on values near zero,
 * which gradients are full of, so we scale by the reference's largest magnitude.
 */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  let scale = floor
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i] as number))
  return maxAbsDiff(a, b) / scale
}
