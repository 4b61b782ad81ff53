import { util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { paramsPerDispatch, SgdMomentumProgram } from '../programs/sgd_momentum_webgpu'
import { runProgram } from '../programs/_program'
import type { UniformData } from '../programs/_program'
import { checkFloat32, checkShape, numberAttr } from './_checks'

export interface SgdTriple { param: TensorInfo; grad: TensorInfo; buffer: TensorInfo }

/** The f32 uniforms of an SGD step, checked. */
export function sgdUniforms(kernel: string, attrs: Record<string, unknown>): UniformData {
  const values = ['lr', 'momentum', 'dampening', 'weightDecay'].map((name) => numberAttr(kernel, attrs, name))
  return [...values, attrs['nesterov'] === true ? 1 : 0].map((v) => ({ type: 'float32' as const, data: [v] }))
}

/** SGD steps of `triples`, as few dispatches as the device's storage-buffer limit allows: [param0', buffer0', ...]. */
export function runSgd(kernel: string, backend: WebGPUBackend, triples: SgdTriple[], uniforms: UniformData): TensorInfo[] {
  triples.forEach(({ param, grad, buffer }, i) => {
    checkFloat32(kernel, { [`param${i}`]: param, [`grad${i}`]: grad, [`buffer${i}`]: buffer })
    checkShape(kernel, param.shape, { [`grad${i}`]: grad, [`buffer${i}`]: buffer })
  })
  const outputs = new Map<SgdTriple, TensorInfo[]>()
  const nonEmpty = triples.filter((t) => {
    if (util.sizeFromShape(t.param.shape) > 0) return true
    outputs.set(t, [0, 1].map(() => backend.makeTensorInfo(t.param.shape, 'float32', new Float32Array(0))))
    return false
  })
  const chunk = paramsPerDispatch(backend.device.limits.maxStorageBuffersPerShaderStage)
  for (let start = 0; start < nonEmpty.length; start += chunk) {
    const group = nonEmpty.slice(start, start + chunk)
    const sizes = group.map((t) => util.sizeFromShape(t.param.shape))
    const ends = sizes.map((_, i) => sizes.slice(0, i + 1).reduce((a, b) => a + b, 0))
    const first = group[0] as SgdTriple
    const extraShapes = group.flatMap((t, i) => (i === 0 ? [t.param.shape] : [t.param.shape, t.param.shape]))
    const program = new SgdMomentumProgram(sizes, first.param.shape)
    const inputs = group.flatMap((t) => [t.param, t.grad, t.buffer])
    const ends32 = ends.map((e) => ({ type: 'int32' as const, data: [e] }))
    const [nextParam0, ...extras] = runProgram(backend, program, inputs, extraShapes, [...uniforms, ...ends32])
    // Extras are buffer0', then (param_i', buffer_i') for i ≥ 1.
    group.forEach((t, i) => {
      outputs.set(t, i === 0 ? [nextParam0 as TensorInfo, extras[0] as TensorInfo] : [extras[2 * i - 1] as TensorInfo, extras[2 * i] as TensorInfo])
    })
  }
  return triples.flatMap((t) => outputs.get(t) ?? [])
}
