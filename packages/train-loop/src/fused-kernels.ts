import * as tf from '@tensorflow/tfjs-core'

/** Whether the active backend registers every one of these kernels (@tinylab/kernel-names's fused kernels). */
export function backendHas(...kernels: string[]): boolean {
  const backend = tf.getBackend()
  return kernels.every((k) => tf.getKernel(k, backend) !== undefined)
}
