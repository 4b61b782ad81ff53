import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { BatchNormApplyProgram, BatchNormStatsProgram } from '../programs/batch_norm_training_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, numberAttr, rowsAndLast } from './_checks'
import { BATCH_NORM_TRAINING } from '@tinylab/kernel-names'

/** Train-mode batch norm in two dispatches: per-channel statistics, then y. Contract: @tinylab/kernel-names. */
const batchNormTraining: KernelFunc = ({ inputs, attrs, backend }) => {
  const webgpu = backend as WebGPUBackend
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }
  checkFloat32(BATCH_NORM_TRAINING, { x, gamma, beta })
  const [rows, channels] = rowsAndLast(BATCH_NORM_TRAINING, 'x', x, 2)
  checkShape(BATCH_NORM_TRAINING, [channels], { gamma, beta })
  const epsilon = numberAttr(BATCH_NORM_TRAINING, attrs as Record<string, unknown>, 'epsilon')
  if (!(epsilon > 0)) throw new Error(`${BATCH_NORM_TRAINING}: attr epsilon must be positive, got ${epsilon}`)
  const sizes = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [channels] }]
  const [mean, variance, rstd] = runProgram(webgpu, new BatchNormStatsProgram(channels), [x], [[channels], [channels]], [
    ...sizes,
    { type: 'float32', data: [epsilon] },
  ]) as [TensorInfo, TensorInfo, TensorInfo]
  const [y] = runProgram(webgpu, new BatchNormApplyProgram(x.shape), [x, mean, rstd, gamma, beta], [], [
    { type: 'int32', data: [channels] },
    { type: 'int32', data: [rows] },
  ]) as [TensorInfo]
  return [y, mean, variance, rstd]
}

export const batchNormTrainingConfig: KernelConfig = { kernelName: BATCH_NORM_TRAINING, backendName: 'webgpu', kernelFunc: batchNormTraining }
