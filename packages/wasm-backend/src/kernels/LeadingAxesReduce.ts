import { Mean, Sum, util } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { call, free, reshape } from './_call'
import { original } from './_originals'

/**
 * XNNPACK's multipass average pooling in tfjs-backend-wasm 4.22 traps ("memory access out of bounds") from ~20,000
 * channels on (measured: [20, 16384] works, [20, 20000] and [8, 33278] trap). Convolution channels and the LMs' hidden
 * sizes are far below this; wider rows (the word LM's decoder bias, 33,278) keep the shipped kernel.
 */
const MAX_POOLED_CHANNELS = 8192

/**
 * Sum and Mean over leading axes (x viewed as [R, C], reduced over R) as one XNNPACK average pooling of a [1, R, 1, C]
 * image with an R×1 window. The shipped kernels move the reduced axes last with a full transpose and then loop; over the
 * (N, H, W) axes of an NHWC activation (every batch norm's statistics and gradient, every bias gradient) that cost
 * 4–6 ns per element. Sum is the mean times R. Other reductions (inner axes, all axes, int32, rows wider than
 * MAX_POOLED_CHANNELS) keep the shipped kernel.
 */
function reduceLeadingAxes(kernel: typeof Sum | typeof Mean, args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as KernelBackend
  const x = args.inputs['x'] as TensorInfo
  const { axis, keepDims } = args.attrs as unknown as SumAttrs
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b)
  const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i)
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length))
  const kept = x.shape.slice(axes.length)
  const cols = util.sizeFromShape(kept)
  if (x.dtype !== 'float32' || !leading || rows < 2 || cols === 0 || cols > MAX_POOLED_CHANNELS) return original(kernel).kernelFunc(args) as TensorInfo
  const image = reshape(backend, x, [1, rows, 1, cols])
  const mean = call('AvgPool', { x: image }, backend, { filterSize: [rows, 1], strides: [1, 1], pad: 'valid' })
  free(backend, image)
  let result = mean
  if (kernel === Sum) {
    const count = call('Fill', {}, backend, { shape: [], value: rows, dtype: 'float32' })
    result = call('Multiply', { a: mean, b: count }, backend)
    free(backend, count, mean)
  }
  const out = reshape(backend, result, keepDims ? [...axes.map(() => 1), ...kept] : kept)
  free(backend, result)
  return out
}

export const sumConfig = (): KernelConfig => ({
  kernelName: Sum,
  backendName: 'wasm',
  setupFunc: original(Sum).setupFunc,
  kernelFunc: ((args) => reduceLeadingAxes(Sum, args)) as KernelFunc,
})

export const meanConfig = (): KernelConfig => ({
  kernelName: Mean,
  backendName: 'wasm',
  setupFunc: original(Mean).setupFunc,
  kernelFunc: ((args) => reduceLeadingAxes(Mean, args)) as KernelFunc,
})
