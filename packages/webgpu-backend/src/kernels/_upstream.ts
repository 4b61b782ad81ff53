import type { KernelFunc } from '@tensorflow/tfjs-core'

/**
 * tfjs-backend-webgpu's own kernels that ours replace but still call (e.g. AddN for up to 7 inputs), captured by
 * register_all_webgpu_kernels.ts before it registers ours under the same name.
 */
const upstream = new Map<string, KernelFunc>()

export function saveUpstreamKernel(kernelName: string, kernelFunc: KernelFunc): void {
  upstream.set(kernelName, kernelFunc)
}

export function upstreamKernel(kernelName: string): KernelFunc {
  const kernelFunc = upstream.get(kernelName)
  if (kernelFunc === undefined) {
    throw new Error(`webgpu: tfjs-backend-webgpu's '${kernelName}' kernel was not registered before TinyLab's replaced it`)
  }
  return kernelFunc
}
