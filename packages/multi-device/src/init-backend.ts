import * as tf from '@tensorflow/tfjs-core'
import { createRequire } from 'node:module'
import path from 'node:path'
import './register-core'

export type Device = 'auto' | 'wasm' | 'cpu' | 'webgpu' | 'tensorflow'

export interface InitBackendOptions {
  device?: Device
  /** wasm threads; default: what the backend picks. */
  threads?: number
}

export interface BackendInfo {
  /** The tfjs backend name now active (`tf.getBackend()`). */
  backend: string
  device: Exclude<Device, 'auto'>
  /** Why this device was chosen, in words a user can act on. */
  reason: string
  threads?: number
  simd?: boolean
  adapter?: string
}

function wasmDistDir(): string {
  const require = createRequire(import.meta.url)
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep
}

/**
 * Picks and starts a TensorFlow.js backend for Node.
 *
 * ```ts
 * const info = await initBackend({ device: 'wasm' })
 * console.log(info.backend, info.reason)
 * ```
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const device = options.device ?? 'auto'
  if (device === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu')
    await setBackendOrThrow('cpu')
    return { backend: 'cpu', device: 'cpu', reason: 'requested: pure-JS cpu backend (slow; for parity tests)' }
  }
  if (device === 'wasm' || device === 'auto') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm')
    wasm.setWasmPaths(wasmDistDir())
    await setBackendOrThrow('wasm')
    return {
      backend: 'wasm',
      device: 'wasm',
      reason: device === 'auto' ? 'auto: wasm is the CPU default' : 'requested',
      threads: wasm.getThreadsCount(),
      simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    }
  }
  throw new Error(`initBackend: device '${device}' is not available yet`)
}

async function setBackendOrThrow(name: string): Promise<void> {
  const ok = await tf.setBackend(name)
  if (!ok) throw new Error(`initBackend: the '${name}' backend failed to start`)
  await tf.ready()
}
