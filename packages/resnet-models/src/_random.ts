import { SeededRng } from '@tinylab/seeded-rng'

/** Seeded draws for weight initialisation, so that `resnet18({ seed: 0 })` gives the same weights everywhere. */
export interface Random {
  /** n samples of N(0, std²), as float32. */
  normal(n: number, std: number): Float32Array
  /** n samples of U(-bound, bound), as float32. */
  uniform(n: number, bound: number): Float32Array
}

export function createRandom(seed: number = Math.floor(Math.random() * 2 ** 32)): Random {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`)
  const rng = new SeededRng(seed)
  // (0, 1), never exactly 0, so log() in Box-Muller is finite
  const next = (): number => rng.nextOpen()
  return {
    normal(n, std) {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i += 2) {
        const r = Math.sqrt(-2 * Math.log(next()))
        const theta = 2 * Math.PI * next()
        out[i] = std * r * Math.cos(theta)
        if (i + 1 < n) out[i + 1] = std * r * Math.sin(theta)
      }
      return out
    },
    uniform(n, bound) {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * bound
      return out
    },
  }
}
