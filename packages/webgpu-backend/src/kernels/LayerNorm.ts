import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { LayerNormProgram } from '../programs/layer_norm_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, numberAttr, rowsAndLast } from './_checks'
import { LAYER_NORM } from '@tinylab/kernel-names'

/** nn.LayerNorm over the last axis in one dispatch (a workgroup per row). Contract: @tinylab/kernel-names. */
const layerNorm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', TensorInfo>
  checkFloat32(LAYER_NORM, { x, gamma, beta })
  const [rows, cols] = rowsAndLast(LAYER_NORM, 'x', x, 1)
  checkShape(LAYER_NORM, [cols], { gamma, beta })
  const epsilon = numberAttr(LAYER_NORM, attrs as Record<string, unknown>, 'epsilon')
  return runProgram(backend as WebGPUBackend, new LayerNormProgram(x.shape, rows), [x, gamma, beta], [[rows], [rows]], [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [cols] },
    { type: 'float32', data: [epsilon] },
  ])
}

export const layerNormConfig: KernelConfig = { kernelName: LAYER_NORM, backendName: 'webgpu', kernelFunc: layerNorm }
