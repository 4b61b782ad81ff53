import { _FusedMatMul } from '@tensorflow/tfjs-core'
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core'
import { routeToXnnpack } from './_matmul-routing'
import { original } from './_originals'

/**
 * `_FusedMatMul` (matMul + bias + activation, what tf.fused.matMul and dense layers emit), routed like BatchMatMul.
 * Folding a's batch into rows is only safe when the bias and PReLU weights broadcast along the last axis alone.
 */
export function fusedMatMulConfig(): KernelConfig {
  const shipped = original(_FusedMatMul)
  const lastAxisOnly = (t: TensorInfo | undefined): boolean => t === undefined || t.shape.length <= 1
  return {
    kernelName: _FusedMatMul,
    backendName: 'wasm',
    setupFunc: shipped.setupFunc,
    kernelFunc: routeToXnnpack(shipped.kernelFunc, (inputs) => lastAxisOnly(inputs['bias']) && lastAxisOnly(inputs['preluActivationWeights'])),
  }
}
