import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { SoftmaxGradProgram } from '../programs/softmax_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, rowsAndLast } from './_checks'
import { SOFTMAX_GRAD } from '@tinylab/kernel-names'

/** The gradient of a softmax over the last axis in one dispatch (a workgroup per row). Contract: @tinylab/kernel-names. */
const softmaxGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, y } = inputs as Record<'dy' | 'y', TensorInfo>
  checkFloat32(SOFTMAX_GRAD, { dy, y })
  checkShape(SOFTMAX_GRAD, y.shape, { dy })
  const [rows, cols] = rowsAndLast(SOFTMAX_GRAD, 'y', y, 1)
  const uniforms = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }, { type: 'int32' as const, data: [1] }]
  return runProgram(backend as WebGPUBackend, new SoftmaxGradProgram(y.shape, rows), [dy, y], [], uniforms)[0] as TensorInfo
}

export const softmaxGradConfig: KernelConfig = { kernelName: SOFTMAX_GRAD, backendName: 'webgpu', kernelFunc: softmaxGrad }
