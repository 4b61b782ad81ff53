// Composed wasm kernels call other wasm kernels' kernelFuncs directly (as tfjs-backend-wasm's own kernels do, e.g.
// BatchMatMul calling reshape), so no op-level engine bookkeeping, tape or tidy is involved; every intermediate
// TensorInfo is released with `free`. Data stays in the wasm heap throughout.
import { backend_util, getKernel } from '@tensorflow/tfjs-core'
import type { DataType, KernelBackend, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core'
import { original } from './_originals'

export type Inputs = Record<string, TensorInfo>

/** The registered wasm kernelFunc for `name` (looked up at call time: our replacements are what later kernels see). */
export function kernelFunc(name: string): KernelFunc {
  const config = getKernel(name, 'wasm')
  if (config === undefined) throw new Error(`wasm-backend kernels: kernel '${name}' is not registered for 'wasm'`)
  return config.kernelFunc
}

export function call(name: string, inputs: Inputs, backend: KernelBackend, attrs: NamedAttrMap = {}): TensorInfo {
  const out = kernelFunc(name)({ inputs, backend, attrs })
  if (Array.isArray(out)) throw new Error(`wasm-backend kernels: '${name}' returned ${out.length} outputs, expected 1`)
  return out
}

export function free(backend: KernelBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId)
}

export const reshape = (b: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo => call('Reshape', { x }, b, { shape })
export const transpose = (b: KernelBackend, x: TensorInfo, perm: number[]): TensorInfo => call('Transpose', { x }, b, { perm })
export const cast = (b: KernelBackend, x: TensorInfo, dtype: DataType): TensorInfo => call('Cast', { x }, b, { dtype })
export const reverse = (b: KernelBackend, x: TensorInfo, dims: number[]): TensorInfo => call('Reverse', { x }, b, { dims })

/** Constant padding; negative amounts crop (PadV2 itself accepts only >= 0). */
export function padOrCrop(b: KernelBackend, x: TensorInfo, paddings: [number, number][], constantValue = 0): TensorInfo {
  const begin = paddings.map(([before]) => Math.max(0, -before))
  const end = paddings.map(([, after]) => Math.max(0, -after))
  let cropped = x
  if (begin.some((v) => v > 0) || end.some((v) => v > 0)) cropped = crop(b, x, begin, end)
  const pads = paddings.map(([before, after]) => [Math.max(0, before), Math.max(0, after)] as [number, number])
  if (pads.every(([p, q]) => p === 0 && q === 0)) return cropped === x ? call('Identity', { x }, b) : cropped
  const out = call('PadV2', { x: cropped }, b, { paddings: pads, constantValue })
  if (cropped !== x) free(b, cropped)
  return out
}

/** Removes begin[i] / end[i] elements at the start / end of each axis (Slice, which copies inside the wasm heap). */
function crop(b: KernelBackend, x: TensorInfo, begin: number[], end: number[]): TensorInfo {
  return call('Slice', { x }, b, { begin, size: x.shape.map((d, i) => d - (begin[i] ?? 0) - (end[i] ?? 0)) })
}

/** Explicit NHWC padding in the form Conv2D's attrs accept. */
export function explicitPad(top: number, bottom: number, left: number, right: number): backend_util.ExplicitPadding {
  return [[0, 0], [top, bottom], [left, right], [0, 0]]
}

/**
 * The shipped XNNPACK Conv2D, not our Conv2D (whose dense route is sized for model layers): the gradient kernels'
 * inner convolutions have other proportions (batch and channels swapped) and were tuned on the shipped one.
 */
export function conv2d(
  b: KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  strides: [number, number],
  dilations: [number, number],
  pad: backend_util.ExplicitPadding,
): TensorInfo {
  const attrs = { strides, pad, dilations, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as NamedAttrMap
  const out = original('Conv2D').kernelFunc({ inputs: { x, filter }, backend: b, attrs })
  if (Array.isArray(out)) throw new Error('wasm-backend kernels: Conv2D returned several outputs')
  return out
}

/**
 * a (m × k) · b (k × n) as a (1, m, n) tensor, through BatchMatMul (XNNPACK when neither operand is transposed). The
 * shipped kernel caches XNNPACK's packed b by b's data id, whatever its shape: pass a b made for this product.
 */
export function matmul(b: KernelBackend, a: TensorInfo, bMat: TensorInfo): TensorInfo {
  const [m, k] = a.shape.slice(-2) as [number, number]
  const n = bMat.shape[bMat.shape.length - 1] as number
  const a3 = reshape(b, a, [1, m, k])
  const b3 = reshape(b, bMat, [1, k, n])
  const out = call('BatchMatMul', { a: a3, b: b3 }, b, { transposeA: false, transposeB: false })
  free(b, a3, b3)
  return out
}
