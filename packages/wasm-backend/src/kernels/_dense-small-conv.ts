import type { backend_util, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core'
import { call, free, matmul, reshape, transpose } from './_call'
import { allocate, heapView } from './_heap'

/**
 * A convolution over maps so small that most (input pixel, output pixel) pairs meet through some tap — ResNet's last
 * stage at 64×64 runs 3×3 convolutions on 2×2 maps, where every pair does — is one dense matrix
 *   A[(h, w, ci), (oh, ow, co)] = W[h − oh·sh + pt, w − ow·sw + pl, ci, co]   (0 where that tap does not exist),
 * and y = x·A, dx = dy·Aᵀ, dA = xᵀ·dy with x and dy flattened per image. As one GEMM the gradients skip what makes the
 * convolution route slow there: XNNPACK multiplying the zero padding (9 taps per pixel where 4 are real), the filter
 * transposed and repacked for every call, and the filter gradient's output transpose. A is built from runs of `co`
 * floats of W, so it costs a memmove of its size.
 */
export interface DenseConvPlan {
  /** h·inW + w, ... : pixel pairs (input, output) and the tap that joins them. */
  pairs: { inPixel: number; outPixel: number; tap: number }[]
  rows: number // inH·inW·ci
  cols: number // outH·outW·co
  inChannels: number
  outChannels: number
  taps: number // kh·kw
}

/** Below this share of meeting pairs the convolution route does fewer multiplications. */
const MIN_DENSITY = 0.5
/** A's size cap (floats): 8M = 32 MiB, a 3×3×512×512 filter on 2×2 maps uses half of it. */
const MAX_ELEMENTS = 8 * 1024 * 1024

/** (input index, output index, tap) along one axis: input i = o·s − pad + k. */
function axisPairs(inSize: number, outSize: number, kernel: number, stride: number, pad: number): [number, number, number][] {
  const pairs: [number, number, number][] = []
  for (let o = 0; o < outSize; o++) {
    for (let k = 0; k < kernel; k++) {
      const i = o * stride - pad + k
      if (i >= 0 && i < inSize) pairs.push([i, o, k])
    }
  }
  return pairs
}

export function planDenseConv(info: backend_util.Conv2DInfo): DenseConvPlan | undefined {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, inChannels, outChannels } = info
  const hPairs = axisPairs(inHeight, outHeight, filterHeight, info.strideHeight, info.padInfo.top)
  const wPairs = axisPairs(inWidth, outWidth, filterWidth, info.strideWidth, info.padInfo.left)
  const rows = inHeight * inWidth * inChannels
  const cols = outHeight * outWidth * outChannels
  const density = (hPairs.length * wPairs.length) / (inHeight * outHeight * inWidth * outWidth)
  if (density < MIN_DENSITY || rows * cols > MAX_ELEMENTS) return undefined
  const pairs: DenseConvPlan['pairs'] = []
  for (const [h, oh, kh] of hPairs) {
    for (const [w, ow, kw] of wPairs) pairs.push({ inPixel: h * inWidth + w, outPixel: oh * outWidth + ow, tap: kh * filterWidth + kw })
  }
  return { pairs, rows, cols, inChannels, outChannels, taps: filterHeight * filterWidth }
}

/** A (rows × cols) from the HWIO filter. */
export function denseConvMatrix(backend: KernelBackend, plan: DenseConvPlan, filter: TensorInfo): TensorInfo {
  const { rows, cols, inChannels: ci, outChannels: co } = plan
  const a = allocate(backend, [rows, cols])
  const { heap, starts } = heapView(backend, a, filter)
  const [aStart, wStart] = starts as [number, number]
  if (plan.pairs.length * ci * co < rows * cols) heap.fill(0, aStart, aStart + rows * cols)
  for (const { inPixel, outPixel, tap } of plan.pairs) {
    for (let c = 0; c < ci; c++) {
      const from = wStart + (tap * ci + c) * co
      heap.copyWithin(aStart + (inPixel * ci + c) * cols + outPixel * co, from, from + co)
    }
  }
  return a
}

/**
 * matrix·v_b for every image v_b of v (flattened; its length is the matrix's column count), returned as `shape`. Done as
 * one product matrix·vᵀ, so XNNPACK packs only vᵀ (n columns) and reads the large matrix where it lies.
 */
export function mapImages(backend: KernelBackend, matrix: TensorInfo, v: TensorInfo, shape: number[]): TensorInfo {
  const n = v.shape[0] as number
  const [outSize, inSize] = matrix.shape as [number, number]
  const vFlat = reshape(backend, v, [n, inSize])
  const vT = transpose(backend, vFlat, [1, 0]) // (inSize, n)
  const outT = matmul(backend, matrix, vT) // (1, outSize, n)
  const outTFlat = reshape(backend, outT, [outSize, n])
  const outFlat = transpose(backend, outTFlat, [1, 0])
  const out = reshape(backend, outFlat, shape)
  free(backend, vFlat, vT, outT, outTFlat, outFlat)
  return out
}

/** The HWIO filter gradient from dA (rows × cols): each tap sums the blocks of the pairs it joins. */
export function foldDenseConvGradient(backend: KernelBackend, plan: DenseConvPlan, dA: TensorInfo): TensorInfo {
  const { cols, inChannels: ci, outChannels: co, taps } = plan
  // layers[j] holds, for every tap, the j-th pair that tap joins (zeros where it joins fewer); dW = Σ_j layers[j].
  const byTap: DenseConvPlan['pairs'][] = Array.from({ length: taps }, () => [])
  for (const pair of plan.pairs) byTap[pair.tap]?.push(pair)
  const depth = Math.max(...byTap.map((p) => p.length))
  const layers: TensorInfo[] = []
  for (let j = 0; j < depth; j++) layers.push(allocate(backend, [taps * ci * co]))
  const { heap, starts } = heapView(backend, dA, ...layers)
  const dAStart = starts[0] as number
  for (let j = 0; j < depth; j++) {
    const layerStart = starts[j + 1] as number
    for (let tap = 0; tap < taps; tap++) {
      const pair = byTap[tap]?.[j]
      const tapStart = layerStart + tap * ci * co
      if (pair === undefined) {
        heap.fill(0, tapStart, tapStart + ci * co)
        continue
      }
      for (let c = 0; c < ci; c++) {
        const from = dAStart + (pair.inPixel * ci + c) * cols + pair.outPixel * co
        heap.copyWithin(tapStart + c * co, from, from + co)
      }
    }
  }
  let sum = layers[0] as TensorInfo
  for (const layer of layers.slice(1)) {
    const next = call('Add', { a: sum, b: layer }, backend)
    free(backend, sum, layer)
    sum = next
  }
  return sum
}
