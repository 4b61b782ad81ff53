import { util } from '@tensorflow/tfjs-core'
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { PartialSumSquaresProgram, PARTS, SumPartsProgram } from '../programs/sum_squares_webgpu'
import { checkFloat32, numberAttr } from './_checks'
import { SUM_SQUARES } from '@tinylab/kernel-names'

/** Σ x² of each input, in ⌈count / (storage-buffer limit − 1)⌉ + 1 dispatches. Contract: @tinylab/kernel-names. */
const sumSquares: KernelFunc = ({ inputs, attrs, backend }) => {
  const webgpu = backend as WebGPUBackend
  const count = numberAttr(SUM_SQUARES, attrs as Record<string, unknown>, 'count')
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`${SUM_SQUARES}: attr count must be an integer >= 1, got ${count}`)
  const named = inputs as Record<string, TensorInfo | undefined>
  const xs = Array.from({ length: count }, (_, i) => {
    const x = named[`x${i}`]
    if (x === undefined) throw new Error(`${SUM_SQUARES}: attr count is ${count} but input x${i} is missing`)
    checkFloat32(SUM_SQUARES, { [`x${i}`]: x })
    return x
  })
  const parts = webgpu.makeTensorInfo([count, PARTS], 'float32')
  const chunk = Math.max(1, webgpu.device.limits.maxStorageBuffersPerShaderStage - 1)
  for (let first = 0; first < count; first += chunk) {
    const group = xs.slice(first, first + chunk)
    const uniforms = [first, ...group.map((x) => util.sizeFromShape(x.shape))].map((v) => ({ type: 'int32' as const, data: [v] }))
    webgpu.runWebGPUProgram(new PartialSumSquaresProgram(count, group.length), group, 'float32', uniforms, parts)
  }
  const sums = webgpu.runWebGPUProgram(new SumPartsProgram(count), [parts], 'float32')
  webgpu.disposeData(parts.dataId)
  return sums
}

export const sumSquaresConfig: KernelConfig = { kernelName: SUM_SQUARES, backendName: 'webgpu', kernelFunc: sumSquares }
