import type * as tf from '@tensorflow/tfjs-core'

/** How TinyLab stores a tensor relative to PyTorch's layout for the same state-dict key (the shared contract). */
export type TensorLayout = 'same' | 'conv2d-hwio' | 'linear-io'

/** One state-dict entry: the exact PyTorch key, our variable, and how its layout differs from torch's. */
export interface NamedTensor {
  name: string
  value: tf.Variable
  layout: TensorLayout
  kind: 'parameter' | 'buffer'
}
