import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { BatchNormRunningStatsProgram } from '../programs/batch_norm_running_stats_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, numberAttr, rowsAndLast } from './_checks'
import { BATCH_NORM_RUNNING_STATS } from '@tinylab/kernel-names'

/** Both running statistics of a BatchNorm layer in one dispatch. Contract: @tinylab/kernel-names. */
const batchNormRunningStats: KernelFunc = ({ inputs, attrs, backend }) => {
  const { runningMean, runningVar, mean, variance } = inputs as Record<'runningMean' | 'runningVar' | 'mean' | 'variance', TensorInfo>
  checkFloat32(BATCH_NORM_RUNNING_STATS, { runningMean, runningVar, mean, variance })
  const [, channels] = rowsAndLast(BATCH_NORM_RUNNING_STATS, 'runningMean', runningMean, 1)
  checkShape(BATCH_NORM_RUNNING_STATS, [channels], { runningMean, runningVar, mean, variance })
  const a = attrs as Record<string, unknown>
  const momentum = numberAttr(BATCH_NORM_RUNNING_STATS, a, 'momentum')
  const count = numberAttr(BATCH_NORM_RUNNING_STATS, a, 'count')
  if (!(count > 1)) throw new Error(`${BATCH_NORM_RUNNING_STATS}: attr count must be > 1 (values per channel), got ${count}`)
  const uniforms = [momentum, count / (count - 1)].map((v) => ({ type: 'float32' as const, data: [v] }))
  return runProgram(backend as WebGPUBackend, new BatchNormRunningStatsProgram(channels), [runningMean, runningVar, mean, variance], [[channels]], uniforms)
}

export const batchNormRunningStatsConfig: KernelConfig = {
  kernelName: BATCH_NORM_RUNNING_STATS,
  backendName: 'webgpu',
  kernelFunc: batchNormRunningStats,
}
