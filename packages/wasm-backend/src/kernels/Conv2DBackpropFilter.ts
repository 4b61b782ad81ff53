import { backend_util, Conv2DBackpropFilter } from '@tensorflow/tfjs-core'
import type { KernelBackend, Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import { call, conv2d, explicitPad, free, matmul, padOrCrop, reshape, transpose } from './_call'
import type { DenseConvPlan } from './_dense-small-conv'
import { foldDenseConvGradient, planDenseConv } from './_dense-small-conv'
import { constant, copyAs } from './_heap'

/**
 * dW[kh, kw, ci, co] = Σ_{n,oh,ow} x[n, oh·s + kh − pt, ow·s + kw − pl, ci] · dy[n, oh, ow, co]
 *
 * That sum is itself a convolution once batch and channels swap roles: run a stride-1 convolution of x laid out as
 * [ci, H, W, n] ("ci images of n channels") with dy laid out as [OH, OW, n, co] (the "filter"), dilated by the forward
 * stride. Its output is [ci, kh, kw, co]. So XNNPACK's convolution does the whole filter gradient (tfjs-backend-wasm
 * 4.22 has no kernel for it at all: tensorflow/tfjs#7620-style "not registered" errors).
 */
function conv2DBackpropFilter(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs } = args
  const backend = args.backend as KernelBackend
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs
  const x = inputs['x'] as TensorInfo
  const dy = inputs['dy'] as TensorInfo
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${attrs.dataFormat}`)
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  )
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info
  const { top, left } = info.padInfo
  const dense = planDenseConv(info)
  if (dense !== undefined) return denseFilterGradient(backend, x, dy, dense, attrs.filterShape)
  if (kh === 1 && kw === 1 && top === 0 && left === 0) return pointwiseFilterGradient(backend, x, dy, info)
  // Rows of x the forward conv actually read end at (OH−1)·s + kh − 1 − pt; pad (or crop) the bottom to exactly that.
  const bottom = (outHeight - 1) * sh + kh - inHeight - top
  const right = (outWidth - 1) * sw + kw - inWidth - left

  const xT = transpose(backend, x, [3, 1, 2, 0]) // (ci, H, W, n)
  const dyT = transpose(backend, dy, [1, 2, 0, 3]) // (OH, OW, n, co)
  let input = xT
  if (bottom < 0 || right < 0) {
    input = padOrCrop(backend, xT, [[0, 0], [0, Math.min(0, bottom)], [0, Math.min(0, right)], [0, 0]])
  }
  const pad = explicitPad(top, Math.max(0, bottom), left, Math.max(0, right))
  const dwT = conv2d(backend, input, dyT, [1, 1], [sh, sw], pad) // (ci, kh, kw, co)
  const dw = transpose(backend, dwT, [1, 2, 0, 3]) // (kh, kw, ci, co)
  free(backend, xT, dyT, dwT)
  if (input !== xT) free(backend, input)
  return dw
}

/** Small maps (see _dense-small-conv): dA = xᵀ·dy with x and dy flattened per image, then each tap sums its blocks. */
function denseFilterGradient(backend: KernelBackend, x: TensorInfo, dy: TensorInfo, plan: DenseConvPlan, filterShape: number[]): TensorInfo {
  const n = x.shape[0] as number
  const xFlat = reshape(backend, x, [n, plan.rows])
  const xT = transpose(backend, xFlat, [1, 0]) // (rows, n)
  const dyFlat = copyAs(backend, dy, [n, plan.cols])
  const dA = matmul(backend, xT, dyFlat)
  free(backend, xFlat, xT, dyFlat)
  const dwFlat = foldDenseConvGradient(backend, plan, dA)
  const dw = reshape(backend, dwFlat, filterShape)
  free(backend, dA, dwFlat)
  return dw
}

/**
 * 1×1 kernels without padding: dW = x_sᵀ·dy, x_s = x at the output grid. One GEMM (k = N·OH·OW), where the
 * convolution route runs an OH×OW-tap convolution with only ci output rows — too few for XNNPACK's tiles (3-10 GFLOP/s
 * on ResNet's downsampling shortcuts).
 */
function pointwiseFilterGradient(backend: KernelBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: n, outHeight, outWidth, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw } = info
  const rows = n * outHeight * outWidth
  let sampled = x
  if (sh > 1 || sw > 1) {
    // x[:, oh·sh, ow·sw, :] through XNNPACK: a 1×1 depthwise convolution with ones, strided (exact: x·1).
    const ones = constant(backend, [1, 1, ci, 1], new Float32Array(ci).fill(1))
    sampled = call('DepthwiseConv2dNative', { x, filter: ones }, backend, { strides: [sh, sw], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' })
    free(backend, ones)
  }
  const flat = reshape(backend, sampled, [rows, ci])
  const xT = transpose(backend, flat, [1, 0]) // (ci, rows)
  const dyFlat = copyAs(backend, dy, [rows, co])
  const dw = matmul(backend, xT, dyFlat)
  const out = reshape(backend, dw, [1, 1, ci, co])
  free(backend, flat, xT, dyFlat, dw)
  if (sampled !== x) free(backend, sampled)
  return out
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as KernelFunc,
}
