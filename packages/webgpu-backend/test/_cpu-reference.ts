/**
 * The eager cpu backend as the parity tests' reference, with its two quadratic training kernels written as direct
 * loops of the same sums: tfjs-backend-cpu 4.22's UnsortedSegmentSum (the embedding gradient) builds a mask and a
 * reduction per segment (33,278 of them for WikiText-2: 683 s for one LM step), and its Conv2DBackpropFilter walks
 * every weight over every output position with strided reads (45 s per ResNet-18 step at batch 8). Both loops here
 * add the same float32 products in float64, as tfjs's cpu kernels do, and round once at the end.
 */
import { backend_util, Conv2DBackpropFilter, getKernel, registerKernel, unregisterKernel, UnsortedSegmentSum, util } from '@tensorflow/tfjs-core'
import type { Conv2DBackpropFilterAttrs, DataId, KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs-core'

interface CpuBackend {
  data: { get(dataId: DataId): { values: ArrayLike<number> } }
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo
}

const valuesOf = (backend: unknown, t: TensorInfo): ArrayLike<number> => (backend as CpuBackend).data.get(t.dataId).values

/** out[ids[i]] += x[i] (rows of x.size / ids.size values), rows in order. */
const unsortedSegmentSum: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo }
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs
  const ids = valuesOf(backend, segmentIds)
  const xs = valuesOf(backend, x)
  const rows = util.sizeFromShape(segmentIds.shape)
  const inner = util.sizeFromShape(x.shape) / rows
  const sums = new Float64Array(numSegments * inner)
  for (let r = 0; r < rows; r++) {
    const id = ids[r] as number
    if (id < 0 || id >= numSegments) continue
    for (let k = 0; k < inner; k++) sums[id * inner + k] = (sums[id * inner + k] as number) + (xs[r * inner + k] as number)
  }
  return (backend as CpuBackend).makeTensorInfo([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32', Float32Array.from(sums))
}

/** dW[kh, kw, ci, co] = Σ over n, oh, ow of x[n, oh·sh + kh − top, ow·sw + kw − left, ci] · dy[n, oh, ow, co] (NHWC). */
const conv2DBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs
  if (dataFormat !== 'NHWC') throw new Error(`cpu reference Conv2DBackpropFilter: only NHWC, got ${dataFormat}`)
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast')
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info
  const { top, left } = info.padInfo
  const xs = valuesOf(backend, x)
  const dys = valuesOf(backend, dy)
  const dw = new Float64Array(filterHeight * filterWidth * inChannels * outChannels)
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyAt = ((n * outHeight + oh) * outWidth + ow) * outChannels
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh - top
          if (ih < 0 || ih >= inHeight) continue
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw - left
            if (iw < 0 || iw >= inWidth) continue
            const xAt = ((n * inHeight + ih) * inWidth + iw) * inChannels
            const wAt = (kh * filterWidth + kw) * inChannels * outChannels
            for (let ci = 0; ci < inChannels; ci++) {
              const xv = xs[xAt + ci] as number
              if (xv === 0) continue
              const row = wAt + ci * outChannels
              for (let co = 0; co < outChannels; co++) dw[row + co] = (dw[row + co] as number) + xv * (dys[dyAt + co] as number)
            }
          }
        }
      }
    }
  }
  return (backend as CpuBackend).makeTensorInfo([...filterShape], 'float32', Float32Array.from(dw))
}

/** The direct-loop kernels, by kernel name (the tests check that they are the ones registered). */
export const FAST_CPU_KERNELS: ReadonlyMap<string, KernelFunc> = new Map([
  [UnsortedSegmentSum, unsortedSegmentSum],
  [Conv2DBackpropFilter, conv2DBackpropFilter],
])

/** Runs `fn` with the direct-loop kernels registered for 'cpu', then puts tfjs's own back. */
export function withFastCpuKernels<T>(fn: () => Promise<T>): Promise<T> {
  return withCpuKernels(FAST_CPU_KERNELS, fn)
}

/** Runs `fn` with `kernels` (kernel name → kernelFunc) registered for 'cpu' in place of tfjs's own, then puts tfjs's back. */
export async function withCpuKernels<T>(kernels: ReadonlyMap<string, KernelFunc>, fn: () => Promise<T>): Promise<T> {
  const replaced: KernelConfig[] = []
  try {
    for (const [kernelName, kernelFunc] of kernels) {
      const original = getKernel(kernelName, 'cpu')
      if (original === undefined) throw new Error(`cpu reference: tfjs-backend-cpu registered no ${kernelName}`)
      replaced.push(original)
      unregisterKernel(kernelName, 'cpu')
      registerKernel({ ...original, kernelFunc })
    }
    return await fn()
  } finally {
    for (const original of replaced) {
      unregisterKernel(original.kernelName, 'cpu')
      registerKernel(original)
    }
  }
}
