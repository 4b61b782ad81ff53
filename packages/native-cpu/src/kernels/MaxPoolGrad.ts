import { backend_util } from '@tensorflow/tfjs-core'
import type { MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { nativeFloat32, offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/** Gradient of MaxPool (NHWC): routes each dy to the first maximum of its window, like the cpu backend. */
export const maxPoolGrad: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo }
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs
  if (!nativeFloat32(dy, input) || input.shape.length !== 4) return null
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode)
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return null
  const p = info.padInfo
  const params = Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, p.top, p.left, p.bottom, p.right,
  ])
  const out = backend.makeOutput([...input.shape], 'float32')
  addon.maxPoolGrad(backend.wasm.HEAPU8, offsetOf(backend, input), offsetOf(backend, dy), offsetOf(backend, out), params)
  return out
}
