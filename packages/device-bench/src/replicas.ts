// Replica factories for benchDevices: each worker imports this file (by path) and builds one model copy.
import * as tf from '@tensorflow/tfjs-core'
import type { Replica } from '@tinylab/multi-device'
import { resnet18 } from '@tinylab/resnet-models'
import { crossEntropy } from '@tinylab/train-loop'
import { TransformerModel, nllLoss } from '@tinylab/transformer-lm'

/** ResNet-18 (torchvision layout) trained with cross-entropy, as imagenet/main.py. */
export function resnet18Replica(options: { numClasses?: number; seed?: number }): Replica {
  const model = resnet18({ numClasses: options.numClasses ?? 200, seed: options.seed ?? 0 })
  return {
    parameters: () => model.parameters(),
    buffers: () => model.namedTensors().filter((t) => t.kind === 'buffer'),
    loss: (x, y) => tf.tidy(() => crossEntropy(model.forward(x as tf.Tensor4D, { training: true }), y)),
    dispose: () => model.dispose(),
  }
}

/** word_language_model's TransformerModel: forward returns log-probabilities, so the loss is NLL (main.py). */
export function transformerReplica(options: { ntoken: number; emsize: number; nhead: number; nhid: number; nlayers: number; dropout: number; seed?: number }): Replica {
  const model = new TransformerModel({
    ntoken: options.ntoken,
    ninp: options.emsize,
    nhead: options.nhead,
    nhid: options.nhid,
    nlayers: options.nlayers,
    dropout: options.dropout,
    seed: options.seed ?? 0,
  })
  return {
    parameters: () => model.parameters(),
    loss: (x, y) => tf.tidy(() => nllLoss(model.forward(x as tf.Tensor2D, { training: true }), y)),
    dispose: () => model.dispose(),
  }
}
