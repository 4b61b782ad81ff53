import { AddN } from '@tensorflow/tfjs-core'
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { upstreamKernel } from './_upstream'

/**
 * tfjs-backend-webgpu 4.22 binds every AddN input as its own storage buffer, so more inputs than the device's
 * `maxStorageBuffersPerShaderStage - 1` (7 under WebGPU's default limits) make an invalid pipeline: Dawn only logs a
 * validation error and the sum silently comes out wrong (seen as a wrong clip_grad_norm_ over 20 gradients).
 * This sums such inputs in chunks that fit, then sums the partial results.
 */
/** AddN's inputs are an array (tfjs-core's addN op passes one); the kernel registry types them as a name map. */
const asInputs = (terms: TensorInfo[]): NamedTensorInfoMap => terms as unknown as NamedTensorInfoMap

const addN: KernelFunc = ({ inputs, backend, attrs }) => {
  const webgpu = backend as WebGPUBackend
  const add = upstreamKernel(AddN)
  const maxInputs = Math.max(2, webgpu.device.limits.maxStorageBuffersPerShaderStage - 1)
  let terms = inputs as unknown as TensorInfo[]
  const partials: TensorInfo[] = []
  while (terms.length > maxInputs) {
    const next: TensorInfo[] = []
    for (let i = 0; i < terms.length; i += maxInputs) {
      const chunk = terms.slice(i, i + maxInputs)
      if (chunk.length === 1) {
        next.push(chunk[0] as TensorInfo)
        continue
      }
      const sum = add({ inputs: asInputs(chunk), backend, attrs }) as TensorInfo
      partials.push(sum)
      next.push(sum)
    }
    terms = next
  }
  const out = add({ inputs: asInputs(terms), backend, attrs }) as TensorInfo
  for (const p of partials) webgpu.disposeData(p.dataId)
  return out
}

export const addNConfig: KernelConfig = { kernelName: AddN, backendName: 'webgpu', kernelFunc: addN }
