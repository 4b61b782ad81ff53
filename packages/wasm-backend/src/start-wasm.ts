import * as tf from '@tensorflow/tfjs-core'
import os from 'node:os'
import { registerWasmTrainingKernels } from './kernels/register_all_kernels'
import { disposeWasmThreads, registerNodeWasmFactory } from './node-wasm-factory'

export interface StartWasmOptions {
  /** wasm threads (default: every logical core, at most 8). 1 loads the single-threaded SIMD build. */
  threads?: number
  /** Why wasm is being started, the first words of the returned `reason` (default 'requested'). */
  why?: string
}

/** What startWasm started: the same fields as `@tinylab/multi-device`'s `BackendInfo` for device 'wasm'. */
export interface WasmBackendInfo {
  /** Always 'wasm': the tfjs backend now active. */
  backend: 'wasm'
  device: 'wasm'
  /** What runs, in words a user can act on: thread count, SIMD, and anything that did not go as asked. */
  reason: string
  threads: number
  simd: boolean
}

let kernelsRegistered = false

function defaultThreads(): number {
  // XNNPACK's pool in the wasm build has at most 8 workers (tfjs-backend-wasm cc/BUILD pre-creates 8).
  return Math.min(8, Math.max(1, os.availableParallelism()))
}

/**
 * Starts tfjs-backend-wasm in Node with threads and SIMD (node-wasm-factory.ts) and TinyLab's training kernels
 * (kernels/register_all_kernels.ts), and makes it the active backend. A second call in the same process keeps the
 * running module (its thread count cannot change) and says so in `reason`.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { startWasm } from '@tinylab/wasm-backend'
 *
 * const info = await startWasm({ threads: 2 })
 * console.log(info.reason) // requested: wasm (XNNPACK, 2 threads, SIMD)
 * ```
 */
export async function startWasm(options: StartWasmOptions = {}): Promise<WasmBackendInfo> {
  const wanted = options.threads ?? defaultThreads()
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > 8) {
    throw new Error(`startWasm: threads must be an integer from 1 to 8 (the wasm build's pool size), got ${wanted}`)
  }
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm')
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm')
  } catch (err) {
    throw new Error(
      `startWasm: needs @tensorflow/tfjs-backend-wasm (${err instanceof Error ? err.message : String(err)}): npm install @tensorflow/tfjs-backend-wasm@^4.22.0`,
    )
  }
  const active = tf.findBackend('wasm') as { wasm?: unknown } | null
  let build: ReturnType<typeof registerNodeWasmFactory> | undefined
  if (active === null) {
    build = registerNodeWasmFactory(wasm, wanted)
    if (!kernelsRegistered) {
      // Before setBackend: the engine runs each kernel's setupFunc when the backend instance is created.
      registerWasmTrainingKernels()
      kernelsRegistered = true
    }
  }
  let ok: boolean
  try {
    ok = await tf.setBackend('wasm')
  } catch (err) {
    throw new Error(`startWasm: the wasm backend failed to start: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!ok) throw new Error('startWasm: the wasm backend failed to start (tfjs printed the cause above)')
  await tf.ready()
  const threads = wasm.getThreadsCount()
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT')
  const notes: string[] = []
  if (build === undefined) notes.push('already started in this process; its thread count cannot change')
  if (!simd) notes.push('this Node has no WebAssembly SIMD: the slow scalar build runs')
  if (threads < wanted && build !== undefined) notes.push(`asked for ${wanted} threads, got ${threads}`)
  const why = options.why ?? 'requested'
  return {
    backend: 'wasm',
    device: 'wasm',
    reason: [`${why}: wasm (XNNPACK, ${threads} thread${threads === 1 ? '' : 's'}${simd ? ', SIMD' : ''})`, ...notes].join('; '),
    threads,
    simd,
  }
}

/**
 * Releases the wasm backend (its heap) and ends its pthread workers, for long-lived hosts that are done with it (a
 * server switching devices, a test runner). A program that just ends needs none of this: the workers never keep Node
 * alive. `startWasm()` may be called again afterwards.
 */
export function stopWasm(): void {
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm')
  disposeWasmThreads()
}
