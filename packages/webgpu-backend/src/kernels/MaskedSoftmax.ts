import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { MaskedSoftmaxProgram } from '../programs/softmax_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, rowsAndLast } from './_checks'
import { MASKED_SOFTMAX } from '@tinylab/kernel-names'

/** softmax(logits + mask) over the last axis in one dispatch (a workgroup per row). Contract: @tinylab/kernel-names. */
const maskedSoftmax: KernelFunc = ({ inputs, backend }) => {
  const { logits, mask } = inputs as Record<'logits' | 'mask', TensorInfo>
  checkFloat32(MASKED_SOFTMAX, { logits, mask })
  const [rows, cols] = rowsAndLast(MASKED_SOFTMAX, 'logits', logits, 2)
  const maskRows = logits.shape[logits.shape.length - 2] as number
  if (mask.shape.length !== 2 || mask.shape[0] !== maskRows || mask.shape[1] !== cols) {
    throw new Error(`${MASKED_SOFTMAX}: mask has shape [${mask.shape}], expected [${maskRows},${cols}] (the logits' last two axes)`)
  }
  const uniforms = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }, { type: 'int32' as const, data: [maskRows] }]
  return runProgram(backend as WebGPUBackend, new MaskedSoftmaxProgram(logits.shape, rows), [logits, mask], [], uniforms)[0] as TensorInfo
}

export const maskedSoftmaxConfig: KernelConfig = { kernelName: MASKED_SOFTMAX, backendName: 'webgpu', kernelFunc: maskedSoftmax }
