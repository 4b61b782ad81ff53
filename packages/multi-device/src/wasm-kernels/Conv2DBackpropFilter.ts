import { backend_util, Conv2DBackpropFilter } from '@tensorflow/tfjs-core'
import type { KernelBackend, Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import { conv2d, explicitPad, free, padOrCrop, transpose } from './_call'

/**
 * dW[kh, kw, ci, co] = Σ_{n,oh,ow} x[n, oh·s + kh − pt, ow·s + kw − pl, ci] · dy[n, oh, ow, co]
 *
 * That sum is itself a convolution once batch and channels swap roles: run a stride-1 convolution of x laid out as
 * [ci, H, W, n] ("ci images of n channels") with dy laid out as [OH, OW, n, co] (the "filter"), dilated by the forward
 * stride. Its output is [ci, kh, kw, co]. So XNNPACK's convolution does the whole filter gradient (tfjs-backend-wasm
 * 4.22 has no kernel for it at all: tensorflow/tfjs#7620-style "not registered" errors).
 */
function conv2DBackpropFilter(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs } = args
  const backend = args.backend as KernelBackend
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs
  const x = inputs['x'] as TensorInfo
  const dy = inputs['dy'] as TensorInfo
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${attrs.dataFormat}`)
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  )
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info
  const { top, left } = info.padInfo
  // Rows of x the forward conv actually read end at (OH−1)·s + kh − 1 − pt; pad (or crop) the bottom to exactly that.
  const bottom = (outHeight - 1) * sh + kh - inHeight - top
  const right = (outWidth - 1) * sw + kw - inWidth - left

  const xT = transpose(backend, x, [3, 1, 2, 0]) // (ci, H, W, n)
  const dyT = transpose(backend, dy, [1, 2, 0, 3]) // (OH, OW, n, co)
  let input = xT
  if (bottom < 0 || right < 0) {
    input = padOrCrop(backend, xT, [[0, 0], [0, Math.min(0, bottom)], [0, Math.min(0, right)], [0, 0]])
  }
  const pad = explicitPad(top, Math.max(0, bottom), left, Math.max(0, right))
  const dwT = conv2d(backend, input, dyT, [1, 1], [sh, sw], pad) // (ci, kh, kw, co)
  const dw = transpose(backend, dwT, [1, 2, 0, 3]) // (kh, kw, ci, co)
  free(backend, xT, dyT, dwT)
  if (input !== xT) free(backend, input)
  return dw
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as KernelFunc,
}
