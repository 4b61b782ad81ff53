/**
 * mulberry32: the model's own seeded generator for weight init and dropout seeds (models do not depend on train-loop,
 * which has the same generator for training code). Not torch's generator: runs repeat, but not torch's exact draws.
 */
export class SeededRng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** An integer seed for tfjs ops that take one (tf.dropout). */
  nextSeed(): number {
    return Math.floor(this.next() * 2147483647)
  }

  getState(): number {
    return this.state
  }

  setState(state: number): void {
    this.state = state >>> 0
  }
}
