import { backend_util, MaxPoolGrad } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import type { Inputs } from './_call'
import { call, free, padOrCrop, reshape } from './_call'

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad seeds its max search with FLT_MIN (the smallest *positive* float) and keeps the
 * *last* maximum: every window whose max is <= 0 sends its gradient to element 0, and ties (all-zero windows after a
 * ReLU are common) go to the last element where the cpu backend and PyTorch pick the first.
 *
 * Here the gradient is built from wasm elementwise kernels on pooled-size tensors, one window offset (i, j) at a
 * time in row-major order: x_ij = the input element each window sees at (i, j) (a strided slice of x padded with
 * -Infinity), hit = (x_ij == y) && !taken, taken ||= hit, and dy·hit lands in dx at that offset. Offsets with the
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
  // Padded input covering every window; padding can never equal a (finite) window max.
  const xp = padOrCrop(backend, x, [[0, 0], [top, (oh - 1) * sh + kh - h - top], [left, (ow - 1) * sw + kw - w - left], [0, 0]], -Infinity)
  // Lattice (pi, pj) collects offsets i ≡ pi (mod sh), j ≡ pj (mod sw), at lattice position (o + i div sh, ...).
  const lh = oh + Math.ceil(kh / sh) - 1
  const lw = ow + Math.ceil(kw / sw) - 1
  const lattices = new Map<number, TensorInfo>()
  // Select does not broadcast: a pooled-size zero tensor for the 'else' branch.
  const zero = call('Fill', {}, backend, { shape: [n, oh, ow, c], value: 0, dtype: 'float32' })
  let taken: TensorInfo | undefined
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const xij = call('StridedSlice', { x: xp }, backend, {
        begin: [0, i, j, 0],
        end: [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c],
        strides: [1, sh, sw, 1],
        beginMask: 0,
        endMask: 0,
        ellipsisMask: 0,
        newAxisMask: 0,
        shrinkAxisMask: 0,
      })
      const eq = call('Equal', { a: xij, b: y }, backend)
      let hit = eq
      if (taken === undefined) {
        taken = eq
      } else {
        const notTaken = call('LogicalNot', { x: taken }, backend)
        hit = call('LogicalAnd', { a: eq, b: notTaken }, backend)
        const nextTaken = call('LogicalOr', { a: taken, b: eq }, backend)
        free(backend, notTaken, taken, eq)
        taken = nextTaken
      }
      const g = call('Select', { condition: hit, t: dy, e: zero }, backend)
      if (hit !== taken) free(backend, hit)
      free(backend, xij)
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
  if (taken !== undefined) free(backend, taken)
  free(backend, xp)
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
  free(backend, zero, packed, full)
  return dx
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as KernelFunc,
}
