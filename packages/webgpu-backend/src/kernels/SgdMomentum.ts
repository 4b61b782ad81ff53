import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { runSgd, sgdUniforms } from './_sgd'
import { SGD_MOMENTUM } from '@tinylab/kernel-names'

/** One SGD update in one dispatch (both outputs). Contract: @tinylab/kernel-names. */
const sgdMomentum: KernelFunc = ({ inputs, attrs, backend }) => {
  const { param, grad, buffer } = inputs as Record<'param' | 'grad' | 'buffer', TensorInfo>
  const uniforms = sgdUniforms(SGD_MOMENTUM, attrs as Record<string, unknown>)
  return runSgd(SGD_MOMENTUM, backend as WebGPUBackend, [{ param, grad, buffer }], uniforms)
}

export const sgdMomentumConfig: KernelConfig = { kernelName: SGD_MOMENTUM, backendName: 'webgpu', kernelFunc: sgdMomentum }
