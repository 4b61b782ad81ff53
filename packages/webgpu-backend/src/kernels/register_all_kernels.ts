// The only file of this package with side effects, run by startWebGpu() once @tensorflow/tfjs-backend-webgpu is loaded:
// one list of the kernels training needs that tfjs-backend-webgpu 4.22 lacks, gets wrong or runs slowly, and of
// TinyLab's fused kernels (@tinylab/kernel-names), so a reader sees every change in one place.
// A kernel of the same name is replaced; the replaced one stays callable through upstreamKernel().
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core'
import type { KernelConfig } from '@tensorflow/tfjs-core'
import { addNConfig } from './AddN'
import { batchNormRunningStatsConfig } from './BatchNormRunningStats'
import { batchNormTrainingConfig } from './BatchNormTraining'
import { batchNormTrainingGradConfig } from './BatchNormTrainingGrad'
import { clipCoefficientConfig } from './ClipCoefficient'
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter'
import { layerNormConfig } from './LayerNorm'
import { layerNormGradConfig } from './LayerNormGrad'
import { logSoftmaxConfig } from './LogSoftmax'
import { logSoftmaxGradConfig } from './LogSoftmaxGrad'
import { maskedSoftmaxConfig } from './MaskedSoftmax'
import { nllLossConfig } from './NllLoss'
import { nllLossGradConfig } from './NllLossGrad'
import { softmaxGradConfig } from './SoftmaxGrad'
import { sgdMomentumConfig } from './SgdMomentum'
import { sgdMomentumMultiConfig } from './SgdMomentumMulti'
import { sumSquaresConfig } from './SumSquares'
import { saveUpstreamKernel } from './_upstream'

const kernelConfigs: KernelConfig[] = [
  addNConfig,
  batchNormRunningStatsConfig,
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
  clipCoefficientConfig,
  conv2DBackpropFilterConfig,
  layerNormConfig,
  layerNormGradConfig,
  logSoftmaxConfig,
  logSoftmaxGradConfig,
  maskedSoftmaxConfig,
  nllLossConfig,
  nllLossGradConfig,
  softmaxGradConfig,
  sgdMomentumConfig,
  sgdMomentumMultiConfig,
  sumSquaresConfig,
]

let registered = false

export function registerAllWebGpuKernels(): void {
  if (registered) return
  registered = true
  for (const config of kernelConfigs) {
    const previous = getKernel(config.kernelName, config.backendName)
    if (previous !== undefined) {
      saveUpstreamKernel(config.kernelName, previous.kernelFunc)
      unregisterKernel(config.kernelName, config.backendName)
    }
    registerKernel(config)
  }
}
