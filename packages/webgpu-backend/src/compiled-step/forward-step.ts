/**
 * Forward-only steps (evaluation, text generation) compiled like training steps: one plan per input shape, the
 * returned tensors read back. A step may read the model's variables but assigns none; values that change from call to
 * call (a row index, a sequence length, an RNN's hidden state) must come in as input tensors, since a replay repeats
 * JavaScript numbers as they were traced.
 */
import type * as tf from '@tensorflow/tfjs-core'
import type { CompiledStepStats, CompileStepOptions, StepValues } from './compile-step'
import { compileStep } from './compile-step'
import { PlansByShape } from './plans-by-shape'

export type CompileForwardOptions = Pick<CompileStepOptions, 'name' | 'traceKey'>

export interface CompiledForward {
  /** One call; resolves with the returned tensors read back. A call the trace cannot replay runs eagerly after a notice. */
  run(inputs: readonly tf.Tensor[]): Promise<StepValues>
  /** Each input shape's plan (key: the input shapes, e.g. '10x35,350'). */
  stats(): Record<string, CompiledStepStats>
  dispose(): void
}

/**
 * `fn` compiled once per input shape (three eager calls, then replays with one submit each), its outputs read back.
 * Matches the `ForwardCompiler` hook of @tinylab/train-loop and @tinylab/transformer-lm, which evaluate and generate
 * through it without depending on this package.
 *
 * ```ts
 * const evaluate = compileForward(([x, y]) => {
 *   const logits = model.forward(x as tf.Tensor4D, { training: false })
 *   return [crossEntropy(logits, y as tf.Tensor1D), logits]
 * }, { name: 'eval' })
 * const [loss, logits] = await evaluate.run([x, y]) // Float32Arrays; evaluate.stats()['256x64x64x3,256'].mode
 * ```
 */
export function compileForward(fn: (inputs: readonly tf.Tensor[]) => tf.Tensor[], options: CompileForwardOptions = {}): CompiledForward {
  const plans = new PlansByShape((key) => compileStep(fn, { name: `${options.name ?? 'forward'} ${key}`, traceKey: options.traceKey, onUnsupported: 'eager' }))
  return {
    run: (inputs) => plans.stepFor(inputs).run(inputs),
    stats: () => plans.stats(),
    dispose: () => plans.dispose(),
  }
}
