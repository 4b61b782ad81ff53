/**
 * A small seeded generator (mulberry32, public domain) for everything random outside tfjs kernels: weight
 * initialisation, shuffles, augmentation, dropout seeds, sampling. tfjs ops that take a `seed` (tf.dropout,
 * tf.randomUniform) get one from `nextSeed()`, so a run is a function of the initial seed. tfjs's own random streams
 * are an implementation detail we would not pin, and PyTorch's Mersenne twister is not reproduced: runs repeat, but
 * are not torch's exact draws. Not for cryptography.
 *
 * ```ts
 * const rng = new SeededRng(1111)
 * const y = tf.dropout(x, 0.2, undefined, rng.nextSeed())
 * ```
 */
export class SeededRng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** Uniform in (0, 1): never exactly 0, so `Math.log` of it is finite (Box-Muller). */
  nextOpen(): number {
    return (this.nextUint32() + 0.5) / 4294967296
  }

  /** An integer seed for a tfjs op. */
  nextSeed(): number {
    return Math.floor(this.next() * 2147483647)
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** The generator's state, to save in a checkpoint and restore with `setState`. */
  getState(): number {
    return this.state
  }

  setState(state: number): void {
    this.state = state >>> 0
  }

  /** mulberry32's step: the next 32-bit output. */
  private nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}
