import { backend_util, Conv2DBackpropInput } from '@tensorflow/tfjs-core'
import type { Conv2DBackpropInputAttrs, KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { Inputs } from './_call'
import { call, conv2d, explicitPad, free, padOrCrop, reshape, transpose } from './_call'
import type { DenseConvPlan } from './_dense-small-conv'
import { denseConvMatrix, mapImages, planDenseConv } from './_dense-small-conv'
import { constant } from './_heap'

/**
 * dx = the transposed convolution of dy with W, done as XNNPACK forward convolutions (tfjs-backend-wasm 4.22 ships a
 * scalar C++ loop for this kernel: ~34% of a ResNet-18 training step).
 *
 * 1-D, per axis: dx[i] = Σ_{o,k: o·s − pt + k = i} dy[o]·W[k]. Split i by its phase r = (i + pt) mod s: only taps
 * k ≡ r (mod s) reach it, and for them dx is a stride-1 correlation of dy with the reversed sub-filter W[r::s]
 * ("sub-pixel" decomposition). So each of the s_h·s_w phases is one dense convolution with channels swapped
 * (W[kh, kw, ci, co] → [.., co, ci]), no multiplications by inserted zeros, and the phases are interleaved with one
 * reshape. Stride 1 is the single-phase case: a plain convolution with the flipped, transposed filter.
 */
function conv2DBackpropInput(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs } = args
  const backend = args.backend as KernelBackend
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs
  const dy = inputs['dy'] as TensorInfo
  const filter = inputs['filter'] as TensorInfo
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropInput (wasm): only NHWC is supported, got ${attrs.dataFormat}`)
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  )
  const { batchSize, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, inChannels } = info
  const { top, left } = info.padInfo
  const dense = planDenseConv(info)
  if (dense !== undefined) return denseInputGradient(backend, dy, filter, dense, attrs.inputShape)
  // Phase qa holds dx rows i = t'·sh + qa (t' = 0..rows−1). Those rows get taps k ≡ ra = (qa + pt) mod sh, at
  // grid positions t = t' + ⌊(qa + pt) / sh⌋ of that tap set's correlation. Ordering phases by the row of dx they
  // fill (not by tap set) makes the interleaved result start at row 0: nothing to crop when sh divides H.
  const rows = Math.ceil(inHeight / sh)
  const cols = Math.ceil(inWidth / sw)
  const phases: TensorInfo[] = []
  for (let qa = 0; qa < sh; qa++) {
    for (let qb = 0; qb < sw; qb++) {
      const grid = { tStart: Math.floor((qa + top) / sh), rows, uStart: Math.floor((qb + left) / sw), cols }
      phases.push(phase(backend, dy, filter, (qa + top) % sh, (qb + left) % sw, kh, kw, sh, sw, grid, inChannels))
    }
  }
  if (phases.length === 1) return cropTo(backend, phases[0] as TensorInfo, 0, 0, inHeight, inWidth)

  // phases[qa·sw + qb]: (n, rows, cols, ci) → (n, rows, sh, cols, sw, ci) → (n, rows·sh, cols·sw, ci)
  const byRow: TensorInfo[] = []
  for (let qa = 0; qa < sh; qa++) {
    const group = phases.slice(qa * sw, (qa + 1) * sw)
    byRow.push(call('Pack', group as unknown as Inputs, backend, { axis: 3 }))
  }
  const packed = call('Pack', byRow as unknown as Inputs, backend, { axis: 2 })
  const flat = reshape(backend, packed, [batchSize, rows * sh, cols * sw, inChannels])
  const dx = cropTo(backend, flat, 0, 0, inHeight, inWidth) // releases `flat` when it crops
  free(backend, ...phases, ...byRow, packed)
  return dx
}

/** Small maps (see _dense-small-conv): dxᵀ = A·dyᵀ, so XNNPACK packs only the small dyᵀ, never the filter. */
function denseInputGradient(backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, plan: DenseConvPlan, inputShape: number[]): TensorInfo {
  const a = denseConvMatrix(backend, plan, filter)
  const dx = mapImages(backend, a, dy, inputShape)
  free(backend, a)
  return dx
}

/** Correlation of dy with tap set (ra, rb), at grid rows [tStart, tStart + rows) and cols likewise: (n, rows, cols, ci). */
function phase(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  ra: number,
  rb: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  grid: { tStart: number; rows: number; uStart: number; cols: number },
  inChannels: number,
): TensorInfo {
  const { tStart, rows, uStart, cols } = grid
  const taps = (k: number, r: number, s: number): number => (k > r ? Math.floor((k - 1 - r) / s) + 1 : 0)
  const ma = taps(kh, ra, sh)
  const mb = taps(kw, rb, sw)
  const [n, outH, outW] = dy.shape as [number, number, number, number]
  if (ma === 0 || mb === 0) {
    return call('Fill', {}, backend, { shape: [n, rows, cols, inChannels], value: 0, dtype: 'float32' })
  }
  // The tap set W[ra::sh, rb::sw], spatially reversed, as a product with a 0/1 selection matrix: XNNPACK copies the
  // taps exactly (w·1 + zeros) at GEMM speed, where the shipped Reverse, StridedSlice and GatherV2 compute an index
  // per element (0.3-0.75 s for a 3x3x512x512 filter).
  const [, , ci, co] = filter.shape as [number, number, number, number]
  const tapIds: number[] = []
  for (let i = ra + (ma - 1) * sh; i >= ra; i -= sh) for (let j = rb + (mb - 1) * sw; j >= rb; j -= sw) tapIds.push(i * kw + j)
  const selection = new Float32Array(tapIds.length * kh * kw)
  tapIds.forEach((tap, row) => selection.fill(1, row * kh * kw + tap, row * kh * kw + tap + 1))
  const flat = reshape(backend, filter, [kh * kw, ci * co])
  const select = constant(backend, [tapIds.length, kh * kw], selection)
  const picked = call('BatchMatMul', { a: select, b: flat }, backend, { transposeA: false, transposeB: false })
  const sub = reshape(backend, picked, [ma, mb, ci, co])
  const subT = transpose(backend, sub, [0, 1, 3, 2]) // (ma, mb, co, ci)
  free(backend, flat, select, picked, sub)
  // "Full" correlation puts grid position t at output row t; start at tStart and keep `rows` rows.
  const padTop = ma - 1 - tStart
  const padBottom = rows - outH - padTop + ma - 1
  const padLeft = mb - 1 - uStart
  const padRight = cols - outW - padLeft + mb - 1
  let input = dy
  if (padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
    input = padOrCrop(backend, dy, [[0, 0], [Math.min(0, padTop), Math.min(0, padBottom)], [Math.min(0, padLeft), Math.min(0, padRight)], [0, 0]])
  }
  const pad = explicitPad(Math.max(0, padTop), Math.max(0, padBottom), Math.max(0, padLeft), Math.max(0, padRight))
  const out = conv2d(backend, input, subT, [1, 1], [1, 1], pad)
  free(backend, subT)
  if (input !== dy) free(backend, input)
  return out
}

/** x cropped to (height, width) from (top, left); releases x when it returns a new tensor. */
function cropTo(backend: KernelBackend, x: TensorInfo, top: number, left: number, height: number, width: number): TensorInfo {
  const [, h, w] = x.shape as [number, number, number, number]
  if (top === 0 && left === 0 && h === height && w === width) return x
  const out = padOrCrop(backend, x, [[0, 0], [-top, height - (h - top)], [-left, width - (w - left)], [0, 0]])
  free(backend, x)
  return out
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as KernelFunc,
}
