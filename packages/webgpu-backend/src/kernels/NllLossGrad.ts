import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { NllLossGradProgram } from '../programs/nll_loss_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, checkTargets, numberAttr } from './_checks'
import { NLL_LOSS_GRAD } from '@tinylab/kernel-names'

/** The gradient of TinylabNllLoss, [N, classes], in one dispatch (a thread per element). Contract: @tinylab/kernel-names. */
const nllLossGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const webgpu = backend as WebGPUBackend
  const { dy, targets } = inputs as { dy: TensorInfo; targets: TensorInfo }
  const classes = numberAttr(NLL_LOSS_GRAD, attrs as Record<string, unknown>, 'classes')
  if (!(Number.isInteger(classes) && classes >= 1)) throw new Error(`${NLL_LOSS_GRAD}: attr classes must be an integer >= 1, got ${classes}`)
  checkFloat32(NLL_LOSS_GRAD, { dy })
  checkShape(NLL_LOSS_GRAD, [], { dy })
  const rows = targets.shape[0] ?? 0
  checkTargets(NLL_LOSS_GRAD, webgpu, targets, rows, classes)
  const uniforms = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [classes] }]
  return runProgram(webgpu, new NllLossGradProgram(rows, classes), [dy, targets], [], uniforms)[0] as TensorInfo
}

export const nllLossGradConfig: KernelConfig = { kernelName: NLL_LOSS_GRAD, backendName: 'webgpu', kernelFunc: nllLossGrad }
