import * as tf from '@tensorflow/tfjs-core'
import type { SeededRng } from '@tinylab/seeded-rng'
import type { NamedTensor, TensorLayout } from '@tinylab/checkpoint-io'

/** A float32 tensor of U(-bound, bound) draws from our seeded generator (torch's nn.init.uniform_). */
export function uniform(rng: SeededRng, shape: number[], bound: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1)
  const data = new Float32Array(n)
  for (let i = 0; i < n; i++) data[i] = (rng.next() * 2 - 1) * bound
  return tf.tensor(data, shape, 'float32')
}

/** Collects NamedTensors in creation order, which is torch's state_dict order when we create them in its order. */
export class Registry {
  readonly entries: NamedTensor[] = []

  add(name: string, init: tf.Tensor, layout: TensorLayout = 'same', kind: NamedTensor['kind'] = 'parameter'): tf.Variable {
    const value = tf.variable(init, kind === 'parameter')
    init.dispose()
    this.entries.push({ name, value, layout, kind })
    return value
  }

  /** A second key for a tensor already registered (tied weights: torch's state_dict lists both keys). */
  alias(name: string, value: tf.Variable, layout: TensorLayout): void {
    this.entries.push({ name, value, layout, kind: 'parameter' })
  }

  /** model.parameters(): each shared tensor once, as torch deduplicates. */
  parameters(): NamedTensor[] {
    const seen = new Set<tf.Variable>()
    return this.entries.filter((e) => {
      if (e.kind !== 'parameter' || seen.has(e.value)) return false
      seen.add(e.value)
      return true
    })
  }

  dispose(): void {
    for (const v of new Set(this.entries.map((e) => e.value))) v.dispose()
  }
}

/**
 * x [N, in] @ w [in, out] + b [out] (w stored 'linear-io'): one fused matmul, the bias added in its epilogue on backends
 * that fuse it (the same floats as a matMul then an add).
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D
}

/** nn.Dropout: identity in eval mode or at p = 0; otherwise a seeded tf.dropout (scales kept values by 1/(1-p)). */
export function dropout<T extends tf.Tensor>(x: T, p: number, training: boolean, rng: SeededRng): T {
  if (!training || p === 0) return x
  return tf.dropout(x, p, undefined, rng.nextSeed()) as T
}
