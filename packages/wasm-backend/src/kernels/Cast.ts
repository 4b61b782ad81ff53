import { Cast } from '@tensorflow/tfjs-core'
import type { CastAttrs, KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import { identityConfig } from './Identity'
import { call, free } from './_call'
import { original } from './_originals'

/**
 * Two changes to the shipped wasm Cast:
 * - to the dtype the tensor already has, it is a clone: share the data as our Identity does instead of copying.
 *   ReLU's gradient runs one per layer (`cast(step(x), 'float32')` on a float32 mask).
 * - to bool, tfjs means `x != 0`; the shipped kernel stores x truncated to a byte (-2.5 became 254, 256 became 0).
 * Other conversions keep the shipped kernel.
 */
function cast(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const x = args.inputs['x'] as TensorInfo
  const { dtype } = args.attrs as unknown as CastAttrs
  if (dtype === x.dtype) return identityConfig.kernelFunc(args)
  if (dtype === 'bool') {
    const backend = args.backend as KernelBackend
    const zero = call('Fill', {}, backend, { shape: [], value: 0, dtype: x.dtype })
    const nonZero = call('NotEqual', { a: x, b: zero }, backend)
    free(backend, zero)
    return nonZero
  }
  return original(Cast).kernelFunc(args)
}

export const castConfig: KernelConfig = { kernelName: Cast, backendName: 'wasm', kernelFunc: cast as KernelFunc }
