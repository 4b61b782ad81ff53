/**
 * Whole training steps written with the real packages (@tinylab/resnet-models, @tinylab/transformer-lm,
 * @tinylab/train-loop: forward, loss, backward, clipping, SGD) as synchronous functions of their input tensors, for
 * compiled-step tests and benchmarks. The ResNet returns `[loss, logits]` (logits for top-k accuracy), the LM and the
 * narrow ResNet `[loss]`.
 */
import * as tf from '@tensorflow/tfjs-core'
import { resnet18 } from '@tinylab/resnet-models'
import type { LayerEvent } from '@tinylab/resnet-models'
import { resnet18 as narrowResnet18 } from './resnet18-fixture'
import { clipGradNorm, crossEntropy, SGD } from '@tinylab/train-loop'
import type { TrainableParam } from '@tinylab/train-loop'
import { nllLoss, TransformerModel } from '@tinylab/transformer-lm'

export interface TrainingStepFixture {
  /** One step on `inputs` (as made by `inputs(i)`); returns `[loss, logits]` (or `[loss]`). */
  step: (inputs: readonly tf.Tensor[]) => tf.Tensor[]
  /** The deterministic batch of step `i` (CPU tensors; the caller disposes them). */
  inputs: (i: number) => tf.Tensor[]
  /** Forward only, eval mode: the logits of `inputs(i)` (the narrow ResNet: its loss). */
  evaluate: (inputs: readonly tf.Tensor[]) => tf.Tensor[]
  /** Parameters and buffers (BatchNorm running statistics), state-dict order. */
  namedTensors: () => readonly TrainableParam[]
  /**
   * The outputs of every ReLU of a train-mode forward of `inputs`, in call order (updates BatchNorm's running
   * statistics as that forward does): where two backends disagree on a ReLU's sign, their gradients may rightly differ.
   */
  reluOutputs?: (inputs: readonly tf.Tensor[]) => tf.Tensor[]
  optimizer: SGD
  dispose: () => void
}

/** Deterministic pseudo-random integers in [0, n): a batch that differs from step to step. */
function ids(count: number, n: number, seed: number): Int32Array {
  const out = new Int32Array(count)
  let s = seed >>> 0
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s % n
  }
  return out
}

function images(count: number, seed: number): Float32Array {
  const out = new Float32Array(count)
  let s = seed >>> 0
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = (s / 4294967296) * 2 - 1
  }
  return out
}

/** Gradients keyed by parameter name, as train-loop's optimizers and clipGradNorm expect. */
function namedGrads(params: readonly TrainableParam[], lossOf: () => tf.Scalar): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const byVariable = new Map(params.map((p) => [p.value.name, p.name]))
  const { value, grads } = tf.variableGrads(lossOf, params.map((p) => p.value))
  return { loss: value, grads: Object.fromEntries(Object.entries(grads).map(([v, g]) => [byVariable.get(v) as string, g])) }
}

/** torchvision ResNet-18 on `size`×`size` images, train-loop's crossEntropy (as `pnpm resnet train`), SGD(lr 0.1 unless given, momentum 0.9, weight decay 1e-4). */
export function resnetTrainingStep(options: { batch: number; size: number; classes: number; seed?: number; lr?: number }): TrainingStepFixture {
  const { batch, size, classes } = options
  const model = resnet18({ numClasses: classes, seed: options.seed ?? 1 })
  const params = model.parameters()
  const optimizer = new SGD(params, { lr: options.lr ?? 0.1, momentum: 0.9, weightDecay: 1e-4 })
  return {
    step: ([x, labels]) => {
      let logits: tf.Tensor | undefined
      const { loss, grads } = namedGrads(params, () => {
        const out = model.forward(x as tf.Tensor4D, { training: true })
        logits = tf.keep(out)
        return crossEntropy(out, labels as tf.Tensor1D)
      })
      optimizer.step(grads)
      return [loss, logits as tf.Tensor]
    },
    inputs: (i) => [tf.tensor4d(images(batch * size * size * 3, 1000 + i), [batch, size, size, 3]), tf.tensor1d(ids(batch, classes, 7 + i), 'int32')],
    evaluate: ([x]) => [model.forward(x as tf.Tensor4D, { training: false })],
    namedTensors: () => model.namedTensors(),
    reluOutputs: ([x]) => {
      const outputs: tf.Tensor[] = []
      const onLayer = (e: LayerEvent): void => {
        if (e.type === 'ReLU') outputs.push(tf.keep(e.output.clone()))
      }
      model.forward(x as tf.Tensor4D, { training: true, onLayer })
      return outputs
    },
    optimizer,
    dispose: () => {
      optimizer.dispose()
      model.dispose()
    },
  }
}

/**
 * The ResNet-18 layer graph at width `width` (resnet18-fixture: batch-statistics BatchNorm without running statistics),
 * softmax cross-entropy, SGD(lr, momentum 0.9, weight decay 1e-4): seconds on the cpu backend, for fast tests.
 */
export function narrowResnetTrainingStep(options: { batch: number; size: number; classes: number; width: number; lr: number }): TrainingStepFixture {
  const { batch, size, classes } = options
  const net = narrowResnet18(classes, options.width)
  const params = [...net.params].map(([name, value]) => ({ name, value }))
  const optimizer = new SGD(params, { lr: options.lr, momentum: 0.9, weightDecay: 1e-4 })
  return {
    step: ([x, labels]) => {
      const { loss, grads } = namedGrads(params, () => net.loss(x as tf.Tensor4D, labels as tf.Tensor1D))
      optimizer.step(grads)
      return [loss]
    },
    inputs: (i) => [tf.tensor4d(images(batch * size * size * 3, 1000 + i), [batch, size, size, 3]), tf.tensor1d(ids(batch, classes, 7 + i), 'int32')],
    evaluate: ([x, labels]) => [net.loss(x as tf.Tensor4D, labels as tf.Tensor1D)],
    namedTensors: () => params,
    optimizer,
    dispose: () => {
      optimizer.dispose()
      tf.dispose(params.map((p) => p.value))
    },
  }
}

/**
 * word_language_model's Transformer (`--model Transformer`), NLL loss, clip_grad_norm_(0.25), plain SGD (lr 20) as
 * main.py trains it (lr 20 unless given). Dropout defaults to 0 so that eager and compiled steps draw the same: tf.dropout
 * draws its masks on the CPU, which a compiled step redraws on the GPU (hostRandom 'gpu-uniform') with other values.
 */
export function transformerTrainingStep(options: {
  batch: number
  bptt: number
  ntoken: number
  emsize?: number
  nhid?: number
  nlayers?: number
  nhead?: number
  dropout?: number
  lr?: number
}): TrainingStepFixture {
  const { batch, bptt, ntoken } = options
  const model = new TransformerModel({
    ntoken,
    ninp: options.emsize ?? 200,
    nhid: options.nhid ?? 200,
    nlayers: options.nlayers ?? 2,
    nhead: options.nhead ?? 2,
    dropout: options.dropout ?? 0,
    layerDropout: options.dropout ?? 0,
  })
  const params = model.parameters()
  const optimizer = new SGD(params, { lr: options.lr ?? 20 })
  return {
    step: ([data, targets]) => {
      const { loss, grads } = namedGrads(params, () => nllLoss(model.forward(data as tf.Tensor2D, { training: true }), targets as tf.Tensor))
      const clipped = clipGradNorm(grads, 0.25)
      optimizer.step(clipped.grads)
      // Only the loss: the example reads nothing else, and 33278-wide logits are 93 MB at batch 20 (see `evaluate`).
      return [loss]
    },
    inputs: (i) => [tf.tensor2d(ids(bptt * batch, ntoken, 11 + i), [bptt, batch], 'int32'), tf.tensor1d(ids(bptt * batch, ntoken, 12 + i), 'int32')],
    evaluate: ([data]) => [model.forward(data as tf.Tensor2D, { training: false })],
    namedTensors: () => model.namedTensors(),
    optimizer,
    dispose: () => model.dispose(),
  }
}
