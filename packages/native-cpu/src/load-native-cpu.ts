import type { KernelBackend } from '@tensorflow/tfjs-core'
import { addonState } from './_addon'
import { registerNativeKernels } from './register-native-kernels'
import type { NativeRegistration } from './register-native-kernels'

export interface NativeCpuInfo {
  /** oneDNN version the addon runs, e.g. '2.6.3'. */
  onednn: string
  /** Instruction set oneDNN dispatches to on this CPU, e.g. 'avx512_core_vnni'. */
  isa: string
  /** oneDNN (OpenMP) threads. */
  threads: number
  /** Absolute path of the loaded .node file. */
  addonPath: string
}

export type NativeCpu =
  | {
      available: true
      info: NativeCpuInfo
      /** See `registerNativeKernels`. */
      register(wasmBackend: KernelBackend): NativeRegistration
      /** Sets oneDNN's thread count (OpenMP, calling thread). */
      setThreads(threads: number): void
      /** oneDNN primitives built so far (one per kernel and shape): tests use it to prove the native path ran. */
      cachedPrimitives(): number
    }
  | { available: false; reason: string }

/**
 * Loads the oneDNN addon if it was built. Never throws: when the addon is missing (no compiler or no libdnnl-dev at
 * install time, or TINYLAB_NATIVE_CPU=0) it returns `{ available: false, reason }` with how to enable it.
 *
 * ```ts
 * const native = loadNativeCpu()
 * if (native.available) console.log(native.info.isa)
 * else console.log(native.reason)
 * ```
 */
export function loadNativeCpu(): NativeCpu {
  const state = addonState()
  if (state.addon === null) return { available: false, reason: state.reason }
  const addon = state.addon
  const raw = addon.info()
  return {
    available: true,
    info: { onednn: raw.onednn, isa: raw.isa, threads: raw.threads, addonPath: state.path },
    register: registerNativeKernels,
    setThreads: (threads) => addon.setThreads(threads),
    cachedPrimitives: () => addon.info().cachedPrimitives,
  }
}
