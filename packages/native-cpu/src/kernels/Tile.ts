import type { TensorInfo, TileAttrs } from '@tensorflow/tfjs-core'
import { offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

const BYTES: Partial<Record<string, number>> = { float32: 4, int32: 4, bool: 1 }

/**
 * Tile by block copies. tfjs-core's batch-norm gradient tiles a [1, 1, 1, C] vector to the full activation shape in
 * every BatchNorm layer; wasm's generic Tile loop was the single most expensive kernel of a ResNet step.
 */
export const tile: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { x } = inputs as { x: TensorInfo }
  const { reps } = attrs as unknown as TileAttrs
  const bytes = BYTES[x.dtype]
  if (bytes === undefined || x.shape.length === 0 || x.shape.length !== reps.length || x.shape.some((d) => d <= 0)) return null
  if (reps.some((r) => r <= 0)) return null
  const out = backend.makeOutput(x.shape.map((d, i) => d * reps[i]!), x.dtype)
  const params = Int32Array.from([x.shape.length, bytes, ...x.shape, ...reps])
  addon.tile(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, out), params)
  return out
}
