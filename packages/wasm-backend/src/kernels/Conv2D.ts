import { backend_util, Conv2D } from '@tensorflow/tfjs-core'
import type { Conv2DAttrs, KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import { free, reshape, transpose } from './_call'
import type { DenseConvPlan } from './_dense-small-conv'
import { denseConvMatrix, mapImages, planDenseConv } from './_dense-small-conv'
import { original } from './_originals'

/**
 * Small maps (see _dense-small-conv): yᵀ = Aᵀ·xᵀ. Aᵀ is XNNPACK's unpacked operand, so the filter is never repacked
 * (the shipped Conv2D transposes it and repacks it on every call, because SGD gives every weight a new tensor each
 * step), and the zero padding is not multiplied. Other shapes go to the shipped kernel.
 */
function conv2D(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as KernelBackend
  const attrs = args.attrs as unknown as Conv2DAttrs
  const x = args.inputs['x'] as TensorInfo
  const filter = args.inputs['filter'] as TensorInfo
  const nhwc = attrs.dataFormat === 'NHWC' || (attrs.dataFormat as string) === 'channelsLast'
  if (nhwc && x.dtype === 'float32' && filter.dtype === 'float32') {
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations,
      attrs.pad,
      attrs.dimRoundingMode,
    )
    const plan = planDenseConv(info)
    if (plan !== undefined) return denseForward(backend, x, filter, plan, info.outShape)
  }
  return original(Conv2D).kernelFunc(args) as TensorInfo
}

function denseForward(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, plan: DenseConvPlan, outShape: number[]): TensorInfo {
  const { inChannels: ci, outChannels: co, taps } = plan
  // Aᵀ is the dense matrix of the transposed problem: pixel roles swapped, filter as (taps, co, ci).
  const taps3 = reshape(backend, filter, [taps, ci, co])
  const filterT = transpose(backend, taps3, [0, 2, 1])
  const transposedPlan: DenseConvPlan = {
    pairs: plan.pairs.map(({ inPixel, outPixel, tap }) => ({ inPixel: outPixel, outPixel: inPixel, tap })),
    rows: plan.cols,
    cols: plan.rows,
    inChannels: co,
    outChannels: ci,
    taps,
  }
  const aT = denseConvMatrix(backend, transposedPlan, filterT)
  const y = mapImages(backend, aT, x, outShape)
  free(backend, taps3, filterT, aT)
  return y
}

/** Keeps the shipped kernel's setupFunc: other shapes still run it. */
export function conv2DConfig(): KernelConfig {
  return { kernelName: Conv2D, backendName: 'wasm', setupFunc: original(Conv2D).setupFunc, kernelFunc: conv2D as KernelFunc }
}
