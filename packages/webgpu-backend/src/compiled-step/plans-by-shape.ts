/**
 * One compiled step per input shape, each made on first use: an epoch's last batch is usually smaller, a generated
 * sequence moves from one length bucket to the next. Shared by compileTrainingStep and compileForward.
 */
import type * as tf from '@tensorflow/tfjs-core'
import type { CompiledStep, CompiledStepStats } from './compile-step'

export class PlansByShape {
  private readonly steps = new Map<string, CompiledStep>()

  /** `compile(key)` makes the step for a new shape; `key` is the input shapes, e.g. '64x64x64x3,64'. */
  constructor(private readonly compile: (key: string) => CompiledStep) {}

  /** The step compiled for these inputs' shapes. */
  stepFor(inputs: readonly tf.Tensor[]): CompiledStep {
    const key = inputs.map((t) => t.shape.join('x')).join(',')
    let step = this.steps.get(key)
    if (step === undefined) {
      step = this.compile(key)
      this.steps.set(key, step)
    }
    return step
  }

  /** Each input shape's plan, by key. */
  stats(): Record<string, CompiledStepStats> {
    return Object.fromEntries([...this.steps].map(([key, step]) => [key, step.stats()]))
  }

  dispose(): void {
    for (const s of this.steps.values()) s.dispose()
    this.steps.clear()
  }
}
