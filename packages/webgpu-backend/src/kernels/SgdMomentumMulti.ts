import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { numberAttr } from './_checks'
import { runSgd, sgdUniforms } from './_sgd'
import type { SgdTriple } from './_sgd'
import { SGD_MOMENTUM_MULTI } from '@tinylab/kernel-names'

/** SGD updates of many parameters, several per dispatch. Contract: @tinylab/kernel-names. */
const sgdMomentumMulti: KernelFunc = ({ inputs, attrs, backend }) => {
  const a = attrs as Record<string, unknown>
  const count = numberAttr(SGD_MOMENTUM_MULTI, a, 'count')
  const named = inputs as Record<string, TensorInfo | undefined>
  const triples: SgdTriple[] = Array.from({ length: count }, (_, i) => {
    const [param, grad, buffer] = ['param', 'grad', 'buffer'].map((n) => named[`${n}${i}`])
    if (param === undefined || grad === undefined || buffer === undefined) {
      throw new Error(`${SGD_MOMENTUM_MULTI}: attr count is ${count} but input param${i}, grad${i} or buffer${i} is missing`)
    }
    return { param, grad, buffer }
  })
  return runSgd(SGD_MOMENTUM_MULTI, backend as WebGPUBackend, triples, sgdUniforms(SGD_MOMENTUM_MULTI, a))
}

export const sgdMomentumMultiConfig: KernelConfig = { kernelName: SGD_MOMENTUM_MULTI, backendName: 'webgpu', kernelFunc: sgdMomentumMulti }
