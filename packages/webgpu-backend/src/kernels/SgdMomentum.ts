import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { SgdMomentumProgram } from '../programs/sgd_momentum_webgpu'
import { runProgram } from '../programs/_program'
import { checkFloat32, checkShape, numberAttr } from './_checks'
import { SGD_MOMENTUM } from './kernel_names'

/** One SGD-with-momentum update in one dispatch (both outputs). Contract: kernel_names.ts. */
const sgdMomentum: KernelFunc = ({ inputs, attrs, backend }) => {
  const { param, grad, buffer } = inputs as Record<'param' | 'grad' | 'buffer', TensorInfo>
  checkFloat32(SGD_MOMENTUM, { param, grad, buffer })
  checkShape(SGD_MOMENTUM, param.shape, { grad, buffer })
  const a = attrs as Record<string, unknown>
  const values = ['lr', 'momentum', 'dampening', 'weightDecay'].map((name) => numberAttr(SGD_MOMENTUM, a, name))
  const uniforms = [...values, a['nesterov'] === true ? 1 : 0].map((v) => ({ type: 'float32' as const, data: [v] }))
  return runProgram(backend as WebGPUBackend, new SgdMomentumProgram(param.shape), [param, grad, buffer], [param.shape], uniforms)
}

export const sgdMomentumConfig: KernelConfig = { kernelName: SGD_MOMENTUM, backendName: 'webgpu', kernelFunc: sgdMomentum }
