import { util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { nativeFloat32, offsetOf } from './_native-kernel'
import type { NativeCall } from './_native-kernel'

/**
 * Sum (scale 1) or Mean (scale 1/count) over one contiguous block of axes, e.g. [N, H, W, C] -> [C] for batch-norm
 * statistics and their gradients, or [N, H, W, C] -> [N, C] for global average pooling. Other axis sets: wasm.
 */
export function reduceContiguous({ inputs, attrs, backend, addon }: NativeCall, mean: boolean): TensorInfo | null {
  const { x } = inputs as { x: TensorInfo }
  const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean }
  if (!nativeFloat32(x) || x.shape.length === 0) return null
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b)
  const first = axes[0]
  const last = axes[axes.length - 1]
  if (first === undefined || last === undefined || last - first + 1 !== axes.length) return null
  const product = (from: number, to: number) => x.shape.slice(from, to).reduce((a, b) => a * b, 1)
  const outer = product(0, first)
  const reduce = product(first, last + 1)
  const inner = product(last + 1, x.shape.length)
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i))
  const out = backend.makeOutput(outShape, 'float32')
  addon.reduceSum(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, out), Int32Array.from([outer, reduce, inner]), mean ? 1 / reduce : 1)
  return out
}
