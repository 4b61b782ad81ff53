import { HostTensor, allocTensorData } from './host-tensor'

/**
 * How TinyLab stores a tensor relative to PyTorch's layout for the same state-dict key.
 * - `same`: identical shape and element order (BatchNorm vectors, biases).
 * - `conv2d-hwio`: tfjs conv filters are [kh, kw, in, out]; torch stores [out, in, kh, kw] (OIHW).
 * - `linear-io`: tfjs matMul weights are [in, out]; torch nn.Linear stores [out, in].
 */
export type TensorLayout = 'same' | 'conv2d-hwio' | 'linear-io'

// The one list of interop transposes (STYLE.md (b)): models never transpose to fix up checkpoints.
//   conv2d-hwio: tfjs [H, W, in, out]  <->  torch [out, in, H, W]
//   linear-io:   tfjs [in, out]        <->  torch [out, in]
// A permutation `perm` means: output axis d is input axis perm[d].
const TO_TORCH: Record<TensorLayout, readonly number[] | undefined> = {
  same: undefined,
  'conv2d-hwio': [3, 2, 0, 1],
  'linear-io': [1, 0],
}
const FROM_TORCH: Record<TensorLayout, readonly number[] | undefined> = {
  same: undefined,
  'conv2d-hwio': [2, 3, 1, 0],
  'linear-io': [1, 0],
}

function permute(t: HostTensor, perm: readonly number[], what: string): HostTensor {
  if (t.shape.length !== perm.length) throw new Error(`${what}: layout needs rank ${perm.length}, tensor has shape [${t.shape.join(', ')}]`)
  const inShape = t.shape
  const outShape = perm.map((p) => inShape[p] as number)
  const inStrides = inShape.map((_, i) => inShape.slice(i + 1).reduce((a, b) => a * b, 1))
  const stridesForOut = perm.map((p) => inStrides[p] as number)
  const out = allocTensorData(t.dtype, t.size)
  // Element copies only: indexing works the same on every typed array, BigInt64Array included, so one loop serves all dtypes.
  const src = t.data as unknown as ArrayLike<number>
  const dst = out as unknown as number[]
  const rank = outShape.length
  const index = new Array<number>(rank).fill(0)
  let s = 0
  for (let i = 0; i < t.size; i++) {
    dst[i] = src[s] as number
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = (index[d] ?? 0) + 1
      s += stridesForOut[d] as number
      if ((index[d] ?? 0) < (outShape[d] as number)) break
      s -= (stridesForOut[d] as number) * (outShape[d] as number)
      index[d] = 0
    }
  }
  return new HostTensor(t.dtype, outShape, out)
}

/** TinyLab layout -> PyTorch layout (a copy, or `t` itself for 'same'). */
export function toTorchLayout(t: HostTensor, layout: TensorLayout, what = 'tensor'): HostTensor {
  const perm = TO_TORCH[layout]
  return perm ? permute(t, perm, what) : t
}

/** PyTorch layout -> TinyLab layout. */
export function fromTorchLayout(t: HostTensor, layout: TensorLayout, what = 'tensor'): HostTensor {
  const perm = FROM_TORCH[layout]
  return perm ? permute(t, perm, what) : t
}

/** The PyTorch shape of a tensor whose TinyLab shape is `shape`. */
export function torchShape(shape: readonly number[], layout: TensorLayout): number[] {
  const perm = TO_TORCH[layout]
  return perm ? perm.map((p) => shape[p] as number) : [...shape]
}
