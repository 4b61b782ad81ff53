// Composed wasm kernels call other wasm kernels' kernelFuncs directly (as tfjs-backend-wasm's own kernels do, e.g.
// BatchMatMul calling reshape), so no op-level engine bookkeeping, tape or tidy is involved; every intermediate
// TensorInfo is released with `free`. Data stays in the wasm heap throughout.
import { backend_util, getKernel } from '@tensorflow/tfjs-core'
import type { DataType, KernelBackend, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core'

export type Inputs = Record<string, TensorInfo>

/** The registered wasm kernelFunc for `name` (looked up at call time: our replacements are what later kernels see). */
export function kernelFunc(name: string): KernelFunc {
  const config = getKernel(name, 'wasm')
  if (config === undefined) throw new Error(`multi-device wasm kernels: kernel '${name}' is not registered for 'wasm'`)
  return config.kernelFunc
}

export function call(name: string, inputs: Inputs, backend: KernelBackend, attrs: NamedAttrMap = {}): TensorInfo {
  const out = kernelFunc(name)({ inputs, backend, attrs })
  if (Array.isArray(out)) throw new Error(`multi-device wasm kernels: '${name}' returned ${out.length} outputs, expected 1`)
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
  const size = x.shape.map((d, i) => d - (begin[i] ?? 0) - Math.max(0, -(paddings[i]?.[1] ?? 0)))
  let cropped = x
  if (begin.some((v) => v > 0) || size.some((d, i) => d !== x.shape[i])) {
    cropped = call('Slice', { x }, b, { begin, size })
  }
  const pads = paddings.map(([before, after]) => [Math.max(0, before), Math.max(0, after)] as [number, number])
  if (pads.every(([p, q]) => p === 0 && q === 0)) return cropped === x ? call('Identity', { x }, b) : cropped
  const out = call('PadV2', { x: cropped }, b, { paddings: pads, constantValue })
  if (cropped !== x) free(b, cropped)
  return out
}

/** Explicit NHWC padding in the form Conv2D's attrs accept. */
export function explicitPad(top: number, bottom: number, left: number, right: number): backend_util.ExplicitPadding {
  return [[0, 0], [top, bottom], [left, right], [0, 0]]
}

export const conv2d = (
  b: KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  strides: [number, number],
  dilations: [number, number],
  pad: backend_util.ExplicitPadding,
): TensorInfo =>
  call('Conv2D', { x, filter }, b, { strides, pad, dilations, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as NamedAttrMap)
