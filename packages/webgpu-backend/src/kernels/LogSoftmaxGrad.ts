import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { LogSoftmaxGradProgram } from '../programs/log_softmax_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, rowsAndLast } from './_checks'
import { LOG_SOFTMAX_GRAD } from '@tinylab/kernel-names'

/** The gradient of TinylabLogSoftmax in one dispatch (a workgroup per row). Contract: @tinylab/kernel-names. */
const logSoftmaxGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo }
  checkFloat32(LOG_SOFTMAX_GRAD, { dy, y })
  checkShape(LOG_SOFTMAX_GRAD, y.shape, { dy })
  const [rows, cols] = rowsAndLast(LOG_SOFTMAX_GRAD, 'y', y, 1)
  const uniforms = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }]
  return runProgram(backend as WebGPUBackend, new LogSoftmaxGradProgram(y.shape, rows), [dy, y], [], uniforms)[0] as TensorInfo
}

export const logSoftmaxGradConfig: KernelConfig = { kernelName: LOG_SOFTMAX_GRAD, backendName: 'webgpu', kernelFunc: logSoftmaxGrad }
