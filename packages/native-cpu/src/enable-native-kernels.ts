import * as tf from '@tensorflow/tfjs-core'
import { addonState } from './_addon'
import { isWasmBackend } from './_wasm-heap'
import { registerNativeKernels } from './register-native-kernels'

/** What @tinylab/multi-device's `_native-hook.ts` expects back (structural contract, see src/index.ts). */
export interface NativeStatus {
  /** true when the active backend is now 'wasm+native'. */
  enabled: boolean
  /** Which library, ISA and threads, or why not and how to enable it. */
  reason: string
}

/**
 * The hook @tinylab/multi-device calls after starting wasm: registers 'wasm+native' over the ACTIVE wasm backend,
 * sizes oneDNN's thread pool, and switches tfjs to 'wasm+native' (`tf.setBackend('wasm')` switches back to plain
 * wasm kernels on the same heap). Never throws for a missing addon: it answers `{ enabled: false, reason }`.
 *
 * ```ts
 * await tf.setBackend('wasm')
 * const status = await enableNativeKernels({ threads: 2 })
 * console.log(status.enabled, tf.getBackend(), status.reason) // true 'wasm+native' 'oneDNN 2.6.3 (avx512_core_bf16, 2 threads) ...'
 * ```
 */
export async function enableNativeKernels(options: { threads: number }): Promise<NativeStatus> {
  const state = addonState()
  if (state.addon === null) return { enabled: false, reason: state.reason }
  const active = tf.getBackend()
  const backend = tf.findBackend(active)
  if (!isWasmBackend(backend)) {
    return { enabled: false, reason: `native CPU kernels need the wasm backend active, not '${active}'` }
  }
  const threads = Math.max(1, Math.floor(options.threads))
  state.addon.setThreads(threads)
  const { backendName, nativeKernels } = registerNativeKernels(backend)
  if (!(await tf.setBackend(backendName))) return { enabled: false, reason: `tf.setBackend('${backendName}') failed` }
  const info = state.addon.info()
  return {
    enabled: true,
    reason: `native CPU kernels: oneDNN ${info.onednn} (${info.isa}, ${info.threads} OpenMP thread${info.threads === 1 ? '' : 's'}) for ${nativeKernels.join(', ')}`,
  }
}
