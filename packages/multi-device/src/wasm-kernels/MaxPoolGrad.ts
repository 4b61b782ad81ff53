import { backend_util, MaxPoolGrad } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import type { Inputs } from './_call'
import { call, free, padOrCrop, reshape } from './_call'

const FLT_MAX = 3.4028234663852886e38

interface BackendWithOutput {
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo
}

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad seeds its max search with FLT_MIN (the smallest *positive* float) and keeps the
 * *last* maximum: every window whose max is <= 0 sends its gradient to element 0, and ties (all-zero windows after a
 * ReLU are common) go to the last element where the cpu backend and PyTorch pick the first.
 *
 * Here the gradient is built from XNNPACK-backed wasm kernels on pooled-size tensors, one window offset (i, j) at a
 * time in row-major order: x_ij = the input element each window sees at (i, j), hit = (x_ij == y) for windows whose
 * max was not found at an earlier offset, and dy·hit lands in dx at that offset. Offsets with the
 * same phase (i mod s, j mod s) share a lattice, so landing is a pad + add on pooled-size tensors; the s×s lattices
 * are interleaved into dx once at the end.
 */
function maxPoolGrad(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs } = args
  const backend = args.backend as KernelBackend
  const attrs = args.attrs as unknown as MaxPoolGradAttrs
  const dy = inputs['dy'] as TensorInfo
  const x = inputs['input'] as TensorInfo
  const y = inputs['output'] as TensorInfo
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  )
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info
  const { top, left } = info.padInfo
  // Padded input covering every window. The padding value must never equal a window's max; -FLT_MAX rather than
  // -Infinity because the extraction below multiplies it by 0 (and -Infinity·0 is NaN).
  const xp = padOrCrop(backend, x, [[0, 0], [top, (oh - 1) * sh + kh - h - top], [left, (ow - 1) * sw + kw - w - left], [0, 0]], -FLT_MAX)
  // Lattice (pi, pj) collects offsets i ≡ pi (mod sh), j ≡ pj (mod sw), at lattice position (o + i div sh, ...).
  const lh = oh + Math.ceil(kh / sh) - 1
  const lw = ow + Math.ceil(kw / sw) - 1
  const lattices = new Map<number, TensorInfo>()
  // remaining = 1 until a window's first max has been found, then 0.
  let remaining = call('Fill', {}, backend, { shape: [n, oh, ow, c], value: 1, dtype: 'float32' })
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // x_ij[o] = xp[o·s + (i, j)]: a depthwise convolution with a one-hot (i, j) filter gathers it with XNNPACK,
      // exactly (x·1 plus zeros); the shipped StridedSlice computes a 4-D index per element and is ~50x slower.
      const values = new Float32Array(kh * kw * c)
      values.fill(1, (i * kw + j) * c, (i * kw + j + 1) * c)
      const oneHot = (backend as unknown as BackendWithOutput).makeOutput([kh, kw, c, 1], 'float32', undefined, values)
      const xij = call('DepthwiseConv2dNative', { x: xp, filter: oneHot }, backend, {
        strides: [sh, sw],
        pad: 'valid',
        dilations: [1, 1],
        dataFormat: 'NHWC',
      })
      // notMax = sign(y − x_ij) ∈ {0, 1} exactly (distinct floats never subtract to 0); hit = remaining·(1 − notMax).
      const diff = call('Sub', { a: y, b: xij }, backend)
      const notMax = call('Sign', { x: diff }, backend)
      const nextRemaining = call('Multiply', { a: remaining, b: notMax }, backend)
      const hit = call('Sub', { a: remaining, b: nextRemaining }, backend)
      const g = call('Multiply', { a: hit, b: dy }, backend)
      free(backend, oneHot, xij, diff, notMax, remaining, hit)
      remaining = nextRemaining
      const di = Math.floor(i / sh)
      const dj = Math.floor(j / sw)
      const placed = padOrCrop(backend, g, [[0, 0], [di, lh - oh - di], [dj, lw - ow - dj], [0, 0]])
      free(backend, g)
      const key = (i % sh) * sw + (j % sw)
      const acc = lattices.get(key)
      if (acc === undefined) {
        lattices.set(key, placed)
      } else {
        lattices.set(key, call('Add', { a: acc, b: placed }, backend))
        free(backend, acc, placed)
      }
    }
  }
  free(backend, remaining, xp)
  // Interleave lattices: (n, lh, sh, lw, sw, c) → padded dx (n, lh·sh, lw·sw, c), then drop the padding.
  const rows: TensorInfo[] = []
  for (let pi = 0; pi < sh; pi++) {
    const row: TensorInfo[] = []
    for (let pj = 0; pj < sw; pj++) {
      row.push(lattices.get(pi * sw + pj) ?? call('Fill', {}, backend, { shape: [n, lh, lw, c], value: 0, dtype: 'float32' }))
    }
    rows.push(row.length === 1 ? reshape(backend, row[0] as TensorInfo, [n, lh, lw, 1, c]) : call('Pack', row as unknown as Inputs, backend, { axis: 3 }))
    free(backend, ...row)
  }
  const packed = rows.length === 1 ? reshape(backend, rows[0] as TensorInfo, [n, lh, 1, lw, sw, c]) : call('Pack', rows as unknown as Inputs, backend, { axis: 2 })
  free(backend, ...rows)
  const full = reshape(backend, packed, [n, lh * sh, lw * sw, c])
  const dx = padOrCrop(backend, full, [[0, 0], [-top, h + top - lh * sh], [-left, w + left - lw * sw], [0, 0]])
  free(backend, packed, full)
  return dx
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as KernelFunc,
}
