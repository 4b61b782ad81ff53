// `--device webgpu` trains through @tinylab/webgpu-backend's compileStep: the same step as train-command's eager path
// (forward, cross-entropy, backward, SGD with momentum and weight decay), traced once per batch size and replayed.
import * as tf from '@tensorflow/tfjs-core'
import type { ResNet } from '@tinylab/resnet-models'
import type { SGD, TrainableParam } from '@tinylab/train-loop'
import type { CompiledStep } from '@tinylab/webgpu-backend'
import { compileStep } from '@tinylab/webgpu-backend'

export interface BatchResult {
  loss: number
  acc1: number
  acc5: number
}

/** Percent of rows whose label is among the `k` largest logits (torch.topk; ties count against the label). */
function topkPercent(logits: Float32Array, labels: ArrayLike<number>, classes: number, k: number): number {
  let hits = 0
  for (let r = 0; r < labels.length; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes)
    const target = row[labels[r] as number] as number
    let above = 0
    for (let j = 0; j < classes; j++) if ((row[j] as number) > target) above++
    if (above < k) hits++
  }
  return (100 * hits) / labels.length
}

/**
 * A trainer that compiles the step for each batch size it sees (the last batch of an epoch is usually smaller) and
 * re-traces when the learning rate changes. A step compileStep cannot replay runs eagerly after a one-line notice.
 */
export function compiledTrainer(model: ResNet, params: readonly TrainableParam[], sgd: SGD, numClasses: number, topk: readonly number[]) {
  const steps = new Map<number, CompiledStep>()
  const vars = params.map((p) => p.value)
  const names = new Map(params.map((p) => [p.value.name, p.name]))
  const stepFor = (batch: number): CompiledStep => {
    let step = steps.get(batch)
    if (step === undefined) {
      step = compileStep(
        ([x, y]) => {
          let logits: tf.Tensor | undefined
          const { value, grads } = tf.variableGrads(() => {
            const out = model.forward(x as tf.Tensor4D, { training: true })
            logits = tf.keep(out)
            return tf.losses.softmaxCrossEntropy(tf.oneHot(y as tf.Tensor1D, numClasses), out) as tf.Scalar
          }, vars)
          sgd.step(Object.fromEntries(Object.entries(grads).map(([v, g]) => [names.get(v) as string, g])))
          return [value, logits as tf.Tensor]
        },
        { name: `train batch ${batch}`, traceKey: () => sgd.lr, onUnsupported: 'eager' },
      )
      steps.set(batch, step)
    }
    return step
  }
  return {
    async step(x: tf.Tensor4D, y: tf.Tensor1D): Promise<BatchResult> {
      const [loss, logits] = await stepFor(x.shape[0]).run([x, y])
      const labels = await y.data()
      const [k1 = 1, k5 = 5] = topk
      const out = logits as Float32Array
      return { loss: (loss as Float32Array)[0] as number, acc1: topkPercent(out, labels, numClasses, k1), acc5: topkPercent(out, labels, numClasses, k5) }
    },
    dispose(): void {
      for (const s of steps.values()) s.dispose()
    },
  }
}
