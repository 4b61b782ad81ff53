import { Tile } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo, TileAttrs } from '@tensorflow/tfjs-core'
import { call, free, reshape } from './_call'
import { original } from './_originals'

/**
 * tfjs-core's batch-norm gradient tiles the per-channel scale to the full (N, H, W, C) shape before multiplying
 * (gradients/FusedBatchNorm_grad.ts), and the shipped wasm Tile computes a multi-dimensional index per element:
 * ~15% of a ResNet-18 step. When every repeated axis has size 1 — a broadcast — the result is x + zeros(shape) with
 * the zeros one element wide on x's axes, which the binary kernel's broadcasting writes in one pass (bit-exact: x + 0).
 * Other tilings go to the shipped kernel.
 */
function tile(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs } = args
  const backend = args.backend as KernelBackend
  const { reps } = args.attrs as unknown as TileAttrs
  const x = inputs['x'] as TensorInfo
  const isBroadcast = x.dtype === 'float32' && x.shape.every((d, i) => d === 1 || (reps[i] ?? 1) === 1)
  if (!isBroadcast) return original(Tile).kernelFunc(args) as TensorInfo
  const zerosShape = x.shape.map((d, i) => (d === 1 ? (reps[i] ?? 1) : 1))
  const zeros = call('Fill', {}, backend, { shape: zerosShape, value: 0, dtype: 'float32' })
  const sum = call('Add', { a: x, b: zeros }, backend)
  free(backend, zeros)
  const outShape = x.shape.map((d, i) => d * (reps[i] ?? 1))
  if (sum.shape.every((d, i) => d === outShape[i])) return sum
  const out = reshape(backend, sum, outShape)
  free(backend, sum)
  return out
}

/** Keeps the shipped kernel's setupFunc: non-broadcast tilings still run it. */
export function tileConfig(): KernelConfig {
  return { kernelName: Tile, backendName: 'wasm', setupFunc: original(Tile).setupFunc, kernelFunc: tile as KernelFunc }
}
