import * as tf from '@tensorflow/tfjs-core'
import { loadNativeCpu } from './_native-hook'
import './register-core'

export type Device = 'auto' | 'wasm' | 'wasm+native' | 'cpu' | 'webgpu' | 'tensorflow'

export interface InitBackendOptions {
  /** Which compute device to start (default 'auto': wasm, plus the native accelerator when installed). */
  device?: Device
  /** wasm threads (default: every logical core, at most 8). 1 loads the single-threaded SIMD build. */
  threads?: number
  /** For device 'webgpu': passed to `startWebGpu` of `@tinylab/webgpu-backend` (Dawn options, power preference). */
  webgpu?: WebGpuStartOptions
}

/** The options `@tinylab/webgpu-backend`'s `startWebGpu` takes, declared here so this package's types never need it. */
export interface WebGpuStartOptions {
  /** Options for Dawn's `create()`, e.g. `['backend=vulkan', 'adapter=<name>']`. */
  dawnOptions?: string[]
  powerPreference?: 'low-power' | 'high-performance'
}

export interface BackendInfo {
  /** The tfjs backend name now active (`tf.getBackend()`). */
  backend: string
  /** What runs the kernels: 'wasm+native' when @tinylab/native-cpu replaced the heavy wasm kernels. */
  device: Exclude<Device, 'auto'> | 'wasm+native'
  /** Why this device was chosen, in words a user can act on. */
  reason: string
  threads?: number
  simd?: boolean
  /** The GPU adapter (webgpu) or library build (tensorflow). */
  adapter?: string
  /** Devices 'auto' considered and did not use, each with the reason. */
  skipped?: string[]
}

// Requirements as stated in tfjs-node's README for 4.x (Linux GPU: "CUDA Toolkit 11.2, cuDNN SDK 8.1.0, NVIDIA GPU
// drivers >450.x"). Both packages download a prebuilt libtensorflow in their install script.
const TFJS_NODE_HELP =
  'Install one of them next to @tensorflow/tfjs-core 4.22: `npm install @tensorflow/tfjs-node@4.22.0` (CPU) or ' +
  '`npm install @tensorflow/tfjs-node-gpu@4.22.0` (Linux x86-64 + NVIDIA GPU: needs exactly CUDA Toolkit 11.2 and ' +
  'cuDNN 8.1.0 with an NVIDIA driver > 450.x; other CUDA/cuDNN versions are not found at run time). Both download ' +
  "libtensorflow from storage.googleapis.com while installing, so the install needs network access. Without them, use " +
  "device 'wasm' (CPU) or 'webgpu'."

/**
 * Picks and starts a TensorFlow.js backend for Node and registers tfjs-core's gradients and chained ops (once).
 * Throws an Error that says how to fix the environment when the requested device cannot start.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { initBackend } from '@tinylab/multi-device'
 *
 * const info = await initBackend({ device: 'wasm', threads: 2 })
 * console.log(info.backend, info.threads, info.simd, info.reason) // wasm 2 true requested: ...
 * tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).print()
 * ```
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const device = options.device ?? 'auto'
  switch (device) {
    case 'cpu':
      return startCpu()
    case 'wasm':
      return startWasm(options.threads, 'requested')
    case 'auto':
      return startAuto(options.threads)
    case 'wasm+native':
      return startWasmNative(options.threads)
    case 'webgpu':
      return startWebGpuDevice(options.webgpu)
    case 'tensorflow':
      return startTensorflow()
    default:
      throw new Error(
        `initBackend: unknown device '${String(device)}'; expected one of 'auto', 'wasm', 'wasm+native', 'cpu', 'webgpu', 'tensorflow'`,
      )
  }
}

async function startCpu(): Promise<BackendInfo> {
  try {
    await import('@tensorflow/tfjs-backend-cpu')
  } catch (err) {
    throw new Error(
      `initBackend: device 'cpu' needs @tensorflow/tfjs-backend-cpu (${messageOf(err)}): npm install @tensorflow/tfjs-backend-cpu@^4.22.0`,
    )
  }
  await setBackendOrThrow('cpu', 'the pure-JS cpu backend')
  silenceNodeBanner()
  return { backend: 'cpu', device: 'cpu', reason: 'requested: pure-JS cpu backend (slow; the reference in parity tests)' }
}

/**
 * tfjs-backend-cpu prints a "looks like you are running TensorFlow.js in Node.js ... install tfjs-node" banner on its
 * first tensor write when IS_NODE. The cpu device here is chosen on purpose (the reference in parity tests), and the
 * banner would land in every command's output; it is gated by the backend's own `firstUse` flag, so clear that flag
 * rather than turning on PROD mode, which would also drop tfjs's argument checks.
 */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null
  if (cpu !== null && cpu.firstUse === true) cpu.firstUse = false
}

interface WasmBackendModule {
  startWasm(options?: { threads?: number; why?: string }): Promise<BackendInfo>
  stopWasm(): void
}

const WASM_PACKAGE = '@tinylab/wasm-backend'
/** The loaded wasm-backend, kept for stopWasm (which must not load it just to stop nothing). */
let wasmBackend: WasmBackendModule | undefined

async function startWasm(threads: number | undefined, why: string): Promise<BackendInfo> {
  // @tinylab/wasm-backend owns the Node wasm loader and the wasm training kernels: an optional dependency (installed
  // by default), loaded only when a wasm device is asked for (a variable specifier, so bundlers never require it).
  if (wasmBackend === undefined) {
    try {
      const specifier: string = WASM_PACKAGE
      wasmBackend = (await import(/* @vite-ignore */ specifier)) as WasmBackendModule
    } catch (err) {
      throw new Error(
        `initBackend: device 'wasm' needs ${WASM_PACKAGE} (${firstLine(messageOf(err))}): npm install ${WASM_PACKAGE} @tensorflow/tfjs-backend-wasm@^4.22.0`,
      )
    }
  }
  try {
    return await wasmBackend.startWasm({ threads, why })
  } catch (err) {
    // startWasm's own messages (bad thread count, what to install); say that initBackend's device 'wasm' needed it.
    const message = messageOf(err)
    throw new Error(
      message.startsWith('startWasm: needs ')
        ? message.replace('startWasm: ', "initBackend: device 'wasm' ")
        : `initBackend: device 'wasm': ${message.replace(/^startWasm: /, '')}`,
    )
  }
}

/**
 * Releases the wasm backend (its heap) and ends its pthread workers, for long-lived hosts that are done with it (a
 * server switching devices, a test runner). A program that just ends needs none of this: the workers never keep Node
 * alive. `initBackend({ device: 'wasm' })` may be called again afterwards; wasm+native is released the same way.
 *
 * ```ts
 * await initBackend({ device: 'wasm' }); /* ...train... *\/ stopWasm()
 * ```
 */
export function stopWasm(): void {
  wasmBackend?.stopWasm()
}

async function startAuto(threads: number | undefined): Promise<BackendInfo> {
  const info = await startWasm(threads, 'auto: wasm is the CPU default that always installs')
  const native = await loadNativeCpu({ threads: info.threads ?? 1 })
  if (native.enabled) {
    return { ...info, backend: tf.getBackend(), device: 'wasm+native', reason: `${info.reason}; ${native.reason}` }
  }
  return { ...info, skipped: [`wasm+native: ${native.reason}`] }
}

/** Like 'auto', but a missing native accelerator is an error (with the fix) rather than a fallback. */
async function startWasmNative(threads: number | undefined): Promise<BackendInfo> {
  const info = await startAuto(threads)
  if (info.device !== 'wasm+native') {
    throw new Error(`initBackend: device 'wasm+native' is not available: ${info.skipped?.join('; ') ?? 'unknown reason'}`)
  }
  return { ...info, reason: `requested; ${info.reason}` }
}

interface WebGpuBackendModule {
  startWebGpu(options?: WebGpuStartOptions): Promise<BackendInfo>
}

const WEBGPU_PACKAGE = '@tinylab/webgpu-backend'

/**
 * @tinylab/webgpu-backend, which owns Dawn, adapters, the WebGPU kernels and the compiled steps: an optional peer,
 * loaded only when asked for (a variable specifier, so bundlers never require it). `T` is the part of its exports the
 * caller declares (this package's types never import it). Throws saying what to install.
 */
export async function importWebGpuBackend<T>(who: string): Promise<T> {
  try {
    const specifier: string = WEBGPU_PACKAGE
    return (await import(/* @vite-ignore */ specifier)) as T
  } catch (err) {
    throw new Error(`${who} needs ${WEBGPU_PACKAGE} (${firstLine(messageOf(err))}): npm install ${WEBGPU_PACKAGE} @tensorflow/tfjs-backend-webgpu@^4.22.0 webgpu`)
  }
}

async function startWebGpuDevice(options: WebGpuStartOptions | undefined): Promise<BackendInfo> {
  const mod = await importWebGpuBackend<WebGpuBackendModule>("initBackend: device 'webgpu'")
  return mod.startWebGpu(options)
}

interface TfjsNodeModule {
  version?: { 'tfjs-node'?: string }
}

async function startTensorflow(): Promise<BackendInfo> {
  const failures: string[] = []
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
    let mod: TfjsNodeModule
    try {
      // A variable specifier: bundlers must not try to resolve these optional peers at build time.
      const specifier: string = pkg
      mod = (await import(/* @vite-ignore */ specifier)) as TfjsNodeModule
    } catch (err) {
      failures.push(`${pkg}: ${firstLine(messageOf(err))}`)
      continue
    }
    await setBackendOrThrow('tensorflow', `${pkg}'s libtensorflow binding`)
    return {
      backend: 'tensorflow',
      device: 'tensorflow',
      reason: `requested: ${pkg}`,
      adapter: `${pkg}@${mod.version?.['tfjs-node'] ?? 'unknown'} (libtensorflow)`,
    }
  }
  throw new Error(`initBackend: device 'tensorflow' needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, and neither loads (${failures.join('; ')}). ${TFJS_NODE_HELP}`)
}

async function setBackendOrThrow(name: string, what: string): Promise<void> {
  let ok: boolean
  try {
    ok = await tf.setBackend(name)
  } catch (err) {
    throw new Error(`initBackend: ${what} failed to start: ${messageOf(err)}`)
  }
  if (!ok) throw new Error(`initBackend: ${what} failed to start (tfjs printed the cause above)`)
  await tf.ready()
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text
}
