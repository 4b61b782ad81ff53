import { util } from '@tensorflow/tfjs-core'
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { CLIP_COEFFICIENT } from '@tinylab/kernel-names'
import { ClipCoefficientProgram } from '../programs/clip_coefficient_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, numberAttr } from './_checks'

/** clip_grad_norm_'s total norm and clamped coefficient from the squared norms, in one dispatch. Contract: @tinylab/kernel-names. */
const clipCoefficient: KernelFunc = ({ inputs, attrs, backend }) => {
  const { sums } = inputs as Record<'sums', TensorInfo>
  checkFloat32(CLIP_COEFFICIENT, { sums })
  const maxNorm = numberAttr(CLIP_COEFFICIENT, attrs as Record<string, unknown>, 'maxNorm')
  return runProgram(backend as WebGPUBackend, new ClipCoefficientProgram(), [sums], [[1]], [
    { type: 'int32', data: [util.sizeFromShape(sums.shape)] },
    { type: 'float32', data: [maxNorm] },
  ])
}

export const clipCoefficientConfig: KernelConfig = { kernelName: CLIP_COEFFICIENT, backendName: 'webgpu', kernelFunc: clipCoefficient }
