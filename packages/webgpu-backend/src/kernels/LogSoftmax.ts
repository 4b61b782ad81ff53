import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { LogSoftmaxProgram } from '../programs/log_softmax_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, rowsAndLast } from './_checks'
import { LOG_SOFTMAX } from '@tinylab/kernel-names'

/** Log-softmax over the last axis in one dispatch (a workgroup per row). Contract: @tinylab/kernel-names. */
const logSoftmax: KernelFunc = ({ inputs, backend }) => {
  const { logits } = inputs as { logits: TensorInfo }
  checkFloat32(LOG_SOFTMAX, { logits })
  const [rows, cols] = rowsAndLast(LOG_SOFTMAX, 'logits', logits, 1)
  const uniforms = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }]
  return runProgram(backend as WebGPUBackend, new LogSoftmaxProgram(logits.shape, rows), [logits], [], uniforms)[0] as TensorInfo
}

export const logSoftmaxConfig: KernelConfig = { kernelName: LOG_SOFTMAX, backendName: 'webgpu', kernelFunc: logSoftmax }
