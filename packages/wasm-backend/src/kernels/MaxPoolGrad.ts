import { backend_util, MaxPoolGrad } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { call, free, padOrCrop } from './_call'
import { allocate, constant, heapView } from './_heap'

const FLT_MAX = 3.4028234663852886e38

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad seeds its max search with FLT_MIN (the smallest *positive* float) and keeps the
 * *last* maximum: every window whose max is <= 0 sends its gradient to element 0, and ties (all-zero windows after a
 * ReLU are common) go to the last element where the cpu backend and PyTorch pick the first.
 *
 * Here the gradient is built from XNNPACK-backed wasm kernels on pooled-size tensors, one window offset (i, j) at a
 * time in row-major order: x_ij = the input element each window sees at (i, j); windows whose max is x_ij and was not
 * found at an earlier offset send their dy there, and the rest of dy waits for later offsets. Offsets with the
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
  // The part of dy not yet routed: dy until a window's first max has been found, then 0.
  let waiting = dy
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // x_ij[o] = xp[o·s + (i, j)]: a depthwise convolution with a one-hot (i, j) filter gathers it with XNNPACK,
      // exactly (x·1 plus zeros); the shipped StridedSlice computes a 4-D index per element and is ~50x slower.
      const values = new Float32Array(kh * kw * c)
      values.fill(1, (i * kw + j) * c, (i * kw + j + 1) * c)
      const oneHot = constant(backend, [kh, kw, c, 1], values)
      const xij = call('DepthwiseConv2dNative', { x: xp, filter: oneHot }, backend, {
        strides: [sh, sw],
        pad: 'valid',
        dilations: [1, 1],
        dataFormat: 'NHWC',
      })
      // notMax = step(y − x_ij) ∈ {0, 1} exactly (y >= x_ij, and distinct floats never subtract to 0). Step, not Sign:
      // the shipped Sign is a scalar loop, ~8x slower. g = waiting·(1 − notMax) = waiting − waiting·notMax, exact.
      const diff = call('Sub', { a: y, b: xij }, backend)
      const notMax = call('Step', { x: diff }, backend, { alpha: 0 })
      const stillWaiting = call('Multiply', { a: waiting, b: notMax }, backend)
      const g = call('Sub', { a: waiting, b: stillWaiting }, backend)
      free(backend, oneHot, xij, diff, notMax)
      if (waiting !== dy) free(backend, waiting)
      waiting = stillWaiting
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
  free(backend, waiting, xp)
  // Interleave: dx pixel (r, q) is lattice ((r + top) mod sh, (q + left) mod sw) at ((r + top) div sh, (q + left) div sw).
  // One copy of c floats per pixel inside the wasm heap; the shipped Pack would copy the same rows through JS subarrays,
  // twice, and cropping the padding would be a third pass.
  const dx = allocate(backend, [n, h, w, c])
  const keys = [...lattices.keys()]
  const { heap, starts } = heapView(backend, dx, ...keys.map((key) => lattices.get(key) as TensorInfo))
  const latticeStart = new Map(keys.map((key, i) => [key, starts[i + 1] as number]))
  let to = starts[0] as number
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < h; r++) {
      const pr = r + top
      for (let q = 0; q < w; q++, to += c) {
        const pq = q + left
        const from = latticeStart.get((pr % sh) * sw + (pq % sw))
        const [lr, lc] = [Math.floor(pr / sh), Math.floor(pq / sw)]
        if (from === undefined || lr >= lh || lc >= lw) {
          // No offset lands here, or no window covers it ('valid' pooling leaves the last rows/columns out).
          heap.fill(0, to, to + c)
          continue
        }
        const at = from + ((b * lh + lr) * lw + lc) * c
        heap.copyWithin(to, at, at + c)
      }
    }
  }
  free(backend, ...lattices.values())
  return dx
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as KernelFunc,
}
