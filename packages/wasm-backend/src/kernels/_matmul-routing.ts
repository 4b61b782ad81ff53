// tfjs-backend-wasm 4.22 sends a matmul to XNNPACK only when neither operand is transposed and both batch sizes are 1
// (cc/batch_mat_mul_impl.cc); everything else runs a scalar triple loop, ~10x slower. Training needs the transposed
// forms for every gradient (dA = dC·Bᵀ, dB = Aᵀ·dC), and the Transformer LM spent 78% of its step there. So before
// delegating to the shipped kernel we (1) materialise transposed operands with the Transpose kernel — O(n²) copies in
// front of an O(n³) product — and (2) fold a's batch into its rows when b is shared (batch 1), making the call
// XNNPACK-eligible. Batched products with distinct b per batch element (attention scores) stay on the shipped path.
import { util } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core'
import { free, reshape, transpose } from './_call'

function swapLastTwo(backend: KernelBackend, x: TensorInfo): TensorInfo {
  const rank = x.shape.length
  const perm = x.shape.map((_, i) => i)
  perm[rank - 2] = rank - 1
  perm[rank - 1] = rank - 2
  return transpose(backend, x, perm)
}

/**
 * Wraps a shipped BatchMatMul-style kernel (inputs a, b [+ bias...], attrs transposeA/B) so that it reaches XNNPACK.
 * `canFold(inputs)` says whether folding a's batch into rows keeps the other inputs' broadcasting valid.
 */
export function routeToXnnpack(shipped: KernelFunc, canFold: (inputs: Record<string, TensorInfo>) => boolean): KernelFunc {
  return (args) => {
    const backend = args.backend as KernelBackend
    const inputs = args.inputs as Record<string, TensorInfo>
    const attrs = (args.attrs ?? {}) as NamedAttrMap
    const a = inputs['a'] as TensorInfo
    const b = inputs['b'] as TensorInfo
    const transposeA = attrs['transposeA'] === true
    const transposeB = attrs['transposeB'] === true
    const batchA = util.sizeFromShape(a.shape.slice(0, -2))
    const batchB = util.sizeFromShape(b.shape.slice(0, -2))
    const fold = batchB === 1 && batchA > 1 && !transposeA && canFold(inputs)
    if (batchB !== 1 || (batchA !== 1 && !fold)) return shipped(args)

    const temps: TensorInfo[] = []
    let a2 = transposeA ? swapLastTwo(backend, a) : a
    const b2 = transposeB ? swapLastTwo(backend, b) : b
    if (a2 !== a) temps.push(a2)
    if (b2 !== b) temps.push(b2)
    const m = a2.shape[a2.shape.length - 2] as number
    const k = a2.shape[a2.shape.length - 1] as number
    const n = b2.shape[b2.shape.length - 1] as number
    if (fold) {
      a2 = reshape(backend, a2, [1, batchA * m, k])
      temps.push(a2)
    }
    const out = shipped({ inputs: { ...inputs, a: a2, b: b2 }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } })
    free(backend, ...temps)
    if (!fold || Array.isArray(out)) return out
    const outShape = [...a.shape.slice(0, -2), m, n]
    const shaped = reshape(backend, out, outShape)
    free(backend, out)
    return shaped
  }
}
