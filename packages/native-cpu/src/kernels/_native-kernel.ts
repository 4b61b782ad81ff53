// Shared shape of every native kernel: try the oneDNN path, and hand anything it does not cover (NCHW, int32, empty
// tensors, rank > 6) to the wasm kernel it replaces, so registering native kernels never removes a capability.
import { backend_util } from '@tensorflow/tfjs-core'
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core'
import type { NativeAddon } from '../_addon'
import { asWasmBackend, memoryOffset } from '../_wasm-heap'
import type { WasmBackendLike } from '../_wasm-heap'

export interface NativeCall {
  inputs: NamedTensorInfoMap
  attrs: NamedAttrMap
  backend: WasmBackendLike
  addon: NativeAddon
}

/** Returns the output(s), or null when the wasm kernel should run instead. */
export type NativeImpl = (call: NativeCall) => TensorInfo | TensorInfo[] | null

/** How often each kernel took the native path (tests check that a case did not silently fall back to wasm). */
export const nativeCalls = new Map<string, number>()

export function nativeKernelConfig(
  kernelName: string,
  backendName: string,
  impl: NativeImpl,
  addon: NativeAddon,
  fallback: KernelConfig | undefined,
): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasmBackend = asWasmBackend(backend, kernelName)
    const out = impl({ inputs, attrs: attrs ?? {}, backend: wasmBackend, addon })
    if (out !== null) {
      nativeCalls.set(kernelName, (nativeCalls.get(kernelName) ?? 0) + 1)
      return out
    }
    if (fallback === undefined) throw new Error(`@tinylab/native-cpu ${kernelName}: case not supported natively and no wasm kernel to fall back to`)
    return fallback.kernelFunc({ inputs, attrs, backend })
  }
  return { kernelName, backendName, kernelFunc }
}

/** True when every tensor is float32 and non-empty: the only case the oneDNN kernels take. */
export function nativeFloat32(...tensors: TensorInfo[]): boolean {
  return tensors.every((t) => t.dtype === 'float32' && t.shape.every((d) => d > 0))
}

/** The 17 ints csrc/addon.cc reads as a ConvShape. */
export function convParams(info: backend_util.Conv2DInfo): Int32Array {
  const p = info.padInfo
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels,
    info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth,
    p.top, p.left, p.bottom, p.right,
  ])
}

export function offsetOf(backend: WasmBackendLike, tensor: TensorInfo): number {
  return memoryOffset(backend, tensor)
}
