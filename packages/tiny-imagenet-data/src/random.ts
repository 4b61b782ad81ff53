/**
 * Seeded randomness that does not depend on which thread runs what: every draw for sample `index` in `epoch` comes
 * from its own stream keyed by (seed, epoch, index), and the epoch's order from a stream keyed by (seed, epoch).
 * So batches are identical for any number of workers, and a run resumed at (epoch, batch) sees the same data.
 */
import { SeededRng } from '@tinylab/seeded-rng'

/** 32-bit mix (splitmix32 finaliser): spreads neighbouring keys into unrelated seeds. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad)
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97)
  return (h ^ (h >>> 15)) >>> 0
}

/** Uniform [0, 1) generator (@tinylab/seeded-rng) for the stream keyed by `keys`. */
export function rngFor(...keys: number[]): () => number {
  let s = 0x9e3779b9
  for (const k of keys) s = mix((s ^ (k >>> 0)) + 0x6d2b79f5 + Math.imul(k / 0x100000000, 0x85ebca6b))
  const rng = new SeededRng(s)
  return () => rng.next()
}

/** Integer in [lo, hi) (torch.randint semantics). */
export function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo))
}

/**
 * The sample order of `epoch`: a Fisher-Yates permutation of 0..n-1 seeded by (seed, epoch), or 0..n-1 unshuffled.
 *
 * @example
 * ```ts
 * epochOrder(5, 0, 1) // same permutation every run for seed 0, epoch 1
 * ```
 */
export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i)
  if (!shuffle) return order
  const rand = rngFor(seed, epoch, 0x5eed)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = order[i] as number
    order[i] = order[j] as number
    order[j] = t
  }
  return order
}
