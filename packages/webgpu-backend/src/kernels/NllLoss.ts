import { util } from '@tensorflow/tfjs-core'
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { NllLossProgram } from '../programs/nll_loss_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkTargets } from './_checks'
import { NLL_LOSS } from '@tinylab/kernel-names'

/** nn.NLLLoss() (mean over rows) in one dispatch of one workgroup. Contract: @tinylab/kernel-names. */
const nllLoss: KernelFunc = ({ inputs, backend }) => {
  const webgpu = backend as WebGPUBackend
  const { logProbs, targets } = inputs as { logProbs: TensorInfo; targets: TensorInfo }
  checkFloat32(NLL_LOSS, { logProbs })
  if (logProbs.shape.length !== 2 || util.sizeFromShape(logProbs.shape) === 0) {
    throw new Error(`${NLL_LOSS}: logProbs must be a non-empty [N, V] tensor, got shape [${logProbs.shape}]`)
  }
  const [rows, classes] = logProbs.shape as [number, number]
  checkTargets(NLL_LOSS, webgpu, targets, rows, classes)
  const uniforms = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [classes] }]
  return runProgram(webgpu, new NllLossProgram(), [logProbs, targets], [], uniforms)[0] as TensorInfo
}

export const nllLossConfig: KernelConfig = { kernelName: NLL_LOSS, backendName: 'webgpu', kernelFunc: nllLoss }
