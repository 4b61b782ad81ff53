/**
 * The training-step shape every example compiles: gradients of a loss with respect to named parameters, handed to an
 * update (clipping, SGD) inside the trace, one compiled plan per input shape (an epoch's last batch is usually smaller),
 * traced again when `traceKey` changes (the learning rate, which a replay would otherwise bake in).
 */
import * as tf from '@tensorflow/tfjs-core'
import type { CompiledStep, CompiledStepStats, CompileStepOptions, StepValues } from './compile-step'
import type { DispatchTime } from './plan'
import { compileStep } from './compile-step'
import { PlansByShape } from './plans-by-shape'

export interface TrainingStepOptions extends Pick<CompileStepOptions, 'traceKey' | 'hostRandom'> {
  /** The trainable parameters: `name` is what `update` receives the gradient under. */
  params: readonly { name: string; value: tf.Variable }[]
  /** The step's scalar loss from its inputs, and tensors to read back beside it (e.g. the logits for top-k accuracy). */
  loss: (inputs: readonly tf.Tensor[]) => { loss: tf.Scalar; outputs?: tf.Tensor[] }
  /** Applies the gradients, by parameter name; runs inside the trace, so its GPU work is replayed too. */
  update: (grads: Record<string, tf.Tensor>) => void
  /** Named in messages, with the input shape: `compileStep 'train 64x64x64x3'`. */
  name?: string
}

export interface CompiledTrainingStep {
  /** One step; resolves with the loss and the `outputs` read back. Steps the trace cannot replay run eagerly after a notice. */
  run(inputs: readonly tf.Tensor[]): Promise<{ loss: number; outputs: StepValues }>
  /** One step with each dispatch timed on the GPU (see CompiledStep.profile); the plan for these shapes must replay. */
  profile(inputs: readonly tf.Tensor[]): Promise<{ loss: number; dispatches: DispatchTime[] }>
  /** Each input shape's plan (key: the input shapes, e.g. '64x64x64x3,64'). */
  stats(): Record<string, CompiledStepStats>
  dispose(): void
}

export function compileTrainingStep(options: TrainingStepOptions): CompiledTrainingStep {
  const vars = options.params.map((p) => p.value)
  const names = new Map(options.params.map((p) => [p.value.name, p.name]))
  const plans = new PlansByShape((key) =>
    compileStep(
      (traced) => {
        let outputs: tf.Tensor[] = []
        const { value, grads } = tf.variableGrads(() => {
          const r = options.loss(traced)
          outputs = (r.outputs ?? []).map((t) => tf.keep(t))
          return r.loss
        }, vars)
        options.update(Object.fromEntries(Object.entries(grads).map(([v, g]) => [names.get(v) as string, g])))
        return [value, ...outputs]
      },
      { name: `${options.name ?? 'train'} ${key}`, traceKey: options.traceKey, hostRandom: options.hostRandom, onUnsupported: 'eager' },
    ),
  )
  return {
    async run(inputs) {
      const [loss, ...outputs] = await plans.stepFor(inputs).run(inputs)
      return { loss: (loss as Float32Array)[0] as number, outputs }
    },
    async profile(inputs) {
      const { values, dispatches } = await plans.stepFor(inputs).profile(inputs)
      return { loss: (values[0] as Float32Array)[0] as number, dispatches }
    },
    stats: () => plans.stats(),
    dispose: () => plans.dispose(),
  }
}
