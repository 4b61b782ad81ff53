import { backend_util } from '@tensorflow/tfjs-core'
import type { BatchMatMulAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { nativeFloat32, offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

const MAX_RANK = 6

/**
 * Batched matrix product with transposes read through strides (no transpose copies) and tfjs's batch broadcasting
 * (leading dims of 1 broadcast, as in tfjs-core's matMul op).
 */
export const batchMatMul: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo }
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs
  const rank = Math.max(a.shape.length, b.shape.length)
  if (rank > MAX_RANK || a.shape.length < 2 || b.shape.length < 2 || !nativeFloat32(a, b)) return null
  const aDims = padLeft(a.shape, rank)
  const bDims = padLeft(b.shape, rank)
  const m = transposeA ? aDims[rank - 1]! : aDims[rank - 2]!
  const kA = transposeA ? aDims[rank - 2]! : aDims[rank - 1]!
  const kB = transposeB ? bDims[rank - 1]! : bDims[rank - 2]!
  const n = transposeB ? bDims[rank - 2]! : bDims[rank - 1]!
  if (kA !== kB) {
    throw new Error(`@tinylab/native-cpu BatchMatMul: inner dimensions ${kA} (a ${a.shape}) and ${kB} (b ${b.shape}) differ`)
  }
  const batchShape = backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
  const out = backend.makeOutput([...batchShape, m, n], 'float32')
  const params = Int32Array.from([rank, transposeA ? 1 : 0, transposeB ? 1 : 0, ...aDims, ...bDims])
  addon.batchMatMul(backend.wasm.HEAPU8, offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), params)
  return out
}

function padLeft(shape: readonly number[], rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape]
}
