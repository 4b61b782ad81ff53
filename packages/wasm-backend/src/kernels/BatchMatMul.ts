import { BatchMatMul } from '@tensorflow/tfjs-core'
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core'
import { routeToXnnpack } from './_matmul-routing'
import { original } from './_originals'

/** BatchMatMul with transposed operands and shared right-hand sides sent to XNNPACK (see _matmul-routing.ts). */
export function batchMatMulConfig(): KernelConfig {
  const shipped = original(BatchMatMul)
  return {
    kernelName: BatchMatMul,
    backendName: 'wasm',
    setupFunc: shipped.setupFunc,
    kernelFunc: routeToXnnpack(shipped.kernelFunc, () => true),
  }
}
