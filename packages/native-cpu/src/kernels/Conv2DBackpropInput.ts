import { backend_util } from '@tensorflow/tfjs-core'
import type { Conv2DBackpropInputAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { convParams, nativeFloat32, offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/** Gradient of Conv2D with respect to its input (also what conv2dTranspose runs). */
export const conv2DBackpropInput: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo }
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs
  if (dataFormat !== 'NHWC' || !nativeFloat32(dy, filter) || inputShape.some((d) => d <= 0)) return null
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast')
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return null
  const out = backend.makeOutput([...inputShape], 'float32')
  addon.conv2dBackpropInput(backend.wasm.HEAPU8, offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, out), convParams(info))
  return out
}
