// `--device webgpu --model Transformer|GCNN` trains through @tinylab/webgpu-backend's compileStep: main.py's step (forward,
// NLL loss, backward, clip_grad_norm_, p -= lr·grad) traced once per batch shape and replayed. With dropout > 0 the
// step draws its noise on the CPU (tf.dropout's tf.randomUniform); the replay redraws it on the GPU (hostRandom
// 'gpu-uniform'), so the units dropped differ from an eager run's, as they differ between any two seeds.
import * as tf from '@tensorflow/tfjs-core'
import type { SGD, TrainableParam } from '@tinylab/train-loop'
import { clipGradNorm } from '@tinylab/train-loop'
import type { GCNNModel, TransformerModel } from '@tinylab/transformer-lm'
import { nllLoss } from '@tinylab/transformer-lm'
import type { CompiledStep } from '@tinylab/webgpu-backend'
import { compileStep } from '@tinylab/webgpu-backend'

/** Returns the step: `await step(data, target)` is the batch's loss. The lr is read at every call (a change re-traces). */
export function compiledLmStep(model: TransformerModel | GCNNModel, params: readonly TrainableParam[], sgd: SGD, clip: number): (data: tf.Tensor2D, target: tf.Tensor1D) => Promise<number> {
  const steps = new Map<string, CompiledStep>()
  const vars = params.map((p) => p.value)
  const names = new Map(params.map((p) => [p.value.name, p.name]))
  return async (data, target) => {
    const key = data.shape.join('x')
    let step = steps.get(key)
    if (step === undefined) {
      step = compileStep(
        ([d, t]) => {
          const { value, grads } = tf.variableGrads(() => nllLoss(model.forward(d as tf.Tensor2D, { training: true }), t as tf.Tensor), vars)
          const { grads: clipped } = clipGradNorm(Object.fromEntries(Object.entries(grads).map(([v, g]) => [names.get(v) as string, g])), clip)
          sgd.step(clipped)
          return [value]
        },
        { name: `train ${key}`, traceKey: () => sgd.lr, onUnsupported: 'eager', hostRandom: 'gpu-uniform' },
      )
      steps.set(key, step)
    }
    const [loss] = await step.run([data, target])
    return (loss as Float32Array)[0] as number
  }
}
