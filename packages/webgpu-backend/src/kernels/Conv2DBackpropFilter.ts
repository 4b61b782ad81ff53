import { backend_util, Conv2DBackpropFilter } from '@tensorflow/tfjs-core'
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'
import { chooseSplits, ConvFilterGradProgram, SumSplitsProgram } from '../programs/conv_backprop_filter_webgpu'
import type { FilterGradGeometry } from '../programs/conv_backprop_filter_webgpu'
import { runProgram } from '../programs/_program'
import { upstreamKernel } from './_upstream'

/**
 * The filter gradient as a tiled implicit GEMM with split-K (programs/conv_backprop_filter_webgpu.ts): one dispatch,
 * or two when the long N·OH·OW reduction is split. NCHW and non-float32 go to tfjs's own kernel.
 */
const conv2DBackpropFilter: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs
  if (dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32') return upstreamKernel(Conv2DBackpropFilter)(args)
  const webgpu = backend as WebGPUBackend
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast')
  const g: FilterGradGeometry = {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  }
  const splits = chooseSplits(g)
  const uniforms = ConvFilterGradProgram.uniformData(g, splits)
  const filterSize = filterShape.reduce((a, b) => a * b, 1)
  if (splits === 1) return runProgram(webgpu, new ConvFilterGradProgram(g, 1, filterShape), [x, dy], [], uniforms)[0] as TensorInfo
  const [partials] = runProgram(webgpu, new ConvFilterGradProgram(g, splits, [splits, filterSize]), [x, dy], [], uniforms) as [TensorInfo]
  const [dw] = runProgram(webgpu, new SumSplitsProgram(filterShape), [partials], [], [{ type: 'int32', data: [splits] }]) as [TensorInfo]
  webgpu.disposeData(partials.dataId)
  return dw
}

export const conv2DBackpropFilterConfig: KernelConfig = { kernelName: Conv2DBackpropFilter, backendName: 'webgpu', kernelFunc: conv2DBackpropFilter }
