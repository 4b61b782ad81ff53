import { OneHot } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, OneHotAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { call, cast, free } from './_call'
import { original } from './_originals'

/**
 * tfjs-backend-wasm 4.22's OneHot always writes int32 bits, even into a float32 output: `tf.oneHot(labels, n, 1, 0,
 * 'float32')` then reads 1 as 1.4e-45, and a cross-entropy built on it is ~0. We let the shipped kernel build the
 * int32 0/1 table, cast it, and apply on/off values in float (so label smoothing's fractional values survive).
 */
function oneHot(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs } = args
  const backend = args.backend as KernelBackend
  const attrs = args.attrs as unknown as OneHotAttrs
  const { dtype, onValue, offValue } = attrs
  const shipped = original(OneHot).kernelFunc
  const bits = shipped({ inputs, backend, attrs: { ...attrs, dtype: 'int32', onValue: 1, offValue: 0 } }) as TensorInfo
  if (dtype === 'int32' && onValue === 1 && offValue === 0) return bits
  const table = cast(backend, bits, dtype)
  free(backend, bits)
  if (onValue === 1 && offValue === 0) return table
  const scale = call('Fill', {}, backend, { shape: [], value: onValue - offValue, dtype })
  const shift = call('Fill', {}, backend, { shape: [], value: offValue, dtype })
  const scaled = call('Multiply', { a: table, b: scale }, backend)
  const out = call('Add', { a: scaled, b: shift }, backend)
  free(backend, table, scale, shift, scaled)
  return out
}

/** Keeps the shipped kernel's setupFunc: it binds the C++ OneHot that `oneHot` delegates to. */
export function oneHotConfig(): KernelConfig {
  return { kernelName: OneHot, backendName: 'wasm', setupFunc: original(OneHot).setupFunc, kernelFunc: oneHot as KernelFunc }
}
