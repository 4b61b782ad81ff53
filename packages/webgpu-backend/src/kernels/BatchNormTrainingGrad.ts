import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { BatchNormGradApplyProgram, BatchNormGradReduceProgram } from '../programs/batch_norm_training_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, rowsAndLast } from './_checks'
import { BATCH_NORM_TRAINING_GRAD } from '@tinylab/kernel-names'

/** The gradient of TinylabBatchNormTraining in two dispatches: per-channel sums, then dx. Contract: @tinylab/kernel-names. */
const batchNormTrainingGrad: KernelFunc = ({ inputs, backend }) => {
  const webgpu = backend as WebGPUBackend
  const { dy, x, mean, rstd, gamma } = inputs as Record<'dy' | 'x' | 'mean' | 'rstd' | 'gamma', TensorInfo>
  checkFloat32(BATCH_NORM_TRAINING_GRAD, { dy, x, mean, rstd, gamma })
  const [rows, channels] = rowsAndLast(BATCH_NORM_TRAINING_GRAD, 'x', x, 2)
  checkShape(BATCH_NORM_TRAINING_GRAD, x.shape, { dy })
  checkShape(BATCH_NORM_TRAINING_GRAD, [channels], { mean, rstd, gamma })
  const sizes = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [channels] }]
  const [dgamma, dbeta] = runProgram(webgpu, new BatchNormGradReduceProgram(channels), [dy, x, mean, rstd], [[channels]], [
    ...sizes,
    { type: 'float32', data: [0] },
  ]) as [TensorInfo, TensorInfo]
  const [dx] = runProgram(webgpu, new BatchNormGradApplyProgram(x.shape), [dy, x, mean, rstd, gamma, dgamma, dbeta], [], [
    { type: 'int32', data: [channels] },
    { type: 'int32', data: [rows] },
  ]) as [TensorInfo]
  return [dx, dgamma, dbeta]
}

export const batchNormTrainingGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAINING_GRAD,
  backendName: 'webgpu',
  kernelFunc: batchNormTrainingGrad,
}
