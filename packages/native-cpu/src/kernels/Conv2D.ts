import { backend_util } from '@tensorflow/tfjs-core'
import type { Conv2DAttrs, Conv2DInputs, TensorInfo } from '@tensorflow/tfjs-core'
import { convParams, nativeFloat32, offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/** Forward convolution, NHWC x HWIO, any stride / dilation / pad. */
export const conv2d: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { x, filter } = inputs as Conv2DInputs as { x: TensorInfo; filter: TensorInfo }
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as Conv2DAttrs
  if (dataFormat !== 'NHWC' || !nativeFloat32(x, filter)) return null
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    strides, dilations, pad, dimRoundingMode, false, 'channelsLast')
  const out = backend.makeOutput(info.outShape, 'float32')
  if (info.outHeight === 0 || info.outWidth === 0) return out
  addon.conv2d(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, filter), offsetOf(backend, out), convParams(info))
  return out
}
