import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { LayerNormGradInputProgram, LayerNormGradParamsProgram } from '../programs/layer_norm_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, rowsAndLast } from './_checks'
import { LAYER_NORM_GRAD } from '@tinylab/kernel-names'

/** The gradient of TinylabLayerNorm in two dispatches: dx per row, dgamma and dbeta per channel. Contract: @tinylab/kernel-names. */
const layerNormGrad: KernelFunc = ({ inputs, backend }) => {
  const webgpu = backend as WebGPUBackend
  const { dy, x, mean, rstd, gamma } = inputs as Record<'dy' | 'x' | 'mean' | 'rstd' | 'gamma', TensorInfo>
  checkFloat32(LAYER_NORM_GRAD, { dy, x, mean, rstd, gamma })
  const [rows, cols] = rowsAndLast(LAYER_NORM_GRAD, 'x', x, 1)
  checkShape(LAYER_NORM_GRAD, x.shape, { dy })
  checkShape(LAYER_NORM_GRAD, [rows], { mean, rstd })
  checkShape(LAYER_NORM_GRAD, [cols], { gamma })
  const [dx] = runProgram(webgpu, new LayerNormGradInputProgram(x.shape, rows), [dy, x, mean, rstd, gamma], [], [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [cols] },
    { type: 'float32', data: [0] },
  ]) as [TensorInfo]
  const [dgamma, dbeta] = runProgram(webgpu, new LayerNormGradParamsProgram(cols), [dy, x, mean, rstd], [[cols]], [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [cols] },
    { type: 'float32', data: [0] }, // the reduction base's epsilon, unused here
  ]) as [TensorInfo, TensorInfo]
  return [dx, dgamma, dbeta]
}

export const layerNormGradConfig: KernelConfig = { kernelName: LAYER_NORM_GRAD, backendName: 'webgpu', kernelFunc: layerNormGrad }
