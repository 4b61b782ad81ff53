import { backend_util } from '@tensorflow/tfjs-core'
import type { Conv2DBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { convParams, nativeFloat32, offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/** Gradient of Conv2D with respect to its HWIO filter: the kernel the wasm backend lacks upstream. */
export const conv2DBackpropFilter: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs
  if (dataFormat !== 'NHWC' || !nativeFloat32(x, dy)) return null
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast')
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return null
  const out = backend.makeOutput([...filterShape], 'float32')
  addon.conv2dBackpropFilter(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out), convParams(info))
  return out
}
