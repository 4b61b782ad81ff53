import type * as tf from '@tensorflow/tfjs-core'

/**
 * How TinyLab stores a tensor relative to PyTorch's layout for the same state-dict key.
 * - `same`: identical shape and element order (BatchNorm vectors, biases).
 * - `conv2d-hwio`: tfjs conv filters are [kh, kw, in, out]; torch stores [out, in, kh, kw] (OIHW).
 * - `linear-io`: tfjs matMul weights are [in, out]; torch nn.Linear stores [out, in].
 */
export type TensorLayout = 'same' | 'conv2d-hwio' | 'linear-io'

/**
 * One parameter or buffer, addressed by its exact PyTorch `state_dict()` key.
 * Buffers are BatchNorm's running_mean / running_var (float32) and num_batches_tracked
 * (int32 here, int64 in torch).
 */
export interface NamedTensor {
  name: string
  value: tf.Variable
  layout: TensorLayout
  kind: 'parameter' | 'buffer'
}
