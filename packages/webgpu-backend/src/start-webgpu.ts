import * as tf from '@tensorflow/tfjs-core'
import { registerAllWebGpuKernels } from './kernels/register_all_kernels'

/** What a WebGPU adapter says about itself (`GPUAdapter.info`), plus Dawn's fallback flag. */
export interface WebGpuAdapterSummary {
  vendor: string
  architecture: string
  device: string
  description: string
  /** true for software adapters such as Mesa lavapipe (llvmpipe). */
  isFallbackAdapter: boolean
}

/** What startWebGpu started: the same fields as `@tinylab/multi-device`'s `BackendInfo` for a WebGPU device. */
export interface WebGpuBackendInfo {
  /** Always 'webgpu': the tfjs backend now active. */
  backend: 'webgpu'
  device: 'webgpu'
  /** The adapter's description, with vendor/architecture and whether it is a software fallback. */
  adapter: string
  /** Why this device runs, in words a user can act on. */
  reason: string
}

export interface StartWebGpuOptions {
  /**
   * Options for Dawn's `create()` (npm `webgpu`), e.g. `['backend=vulkan']` or `['adapter=llvmpipe (LLVM 15.0.6, 256 bits)']`.
   * Default `['backend=vulkan']` on Linux: Dawn's other Linux backend (OpenGL ES) lacks what tfjs needs.
   */
  dawnOptions?: string[]
  /** Passed to `requestAdapter`; tfjs asks for 'high-performance' unless this is 'low-power'. */
  powerPreference?: 'low-power' | 'high-performance'
  /**
   * Register TinyLab's WebGPU kernels (kernels/register_all_kernels.ts: fused training kernels, faster convolution
   * gradients, fixes). Default true. `false` leaves tfjs-backend-webgpu's own kernels alone, to compare against them or
   * to bisect a difference; once registered, TinyLab's kernels stay for the rest of the process.
   */
  tinylabKernels?: boolean
}

/** The subset of Dawn's `navigator.gpu` this module uses (the full types live in `@webgpu/types`). */
interface DawnAdapter {
  readonly info?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }
  readonly isFallbackAdapter?: boolean
}
interface DawnGpu {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<DawnAdapter | null>
}
interface DawnModule {
  create(options: string[]): DawnGpu
  globals: object
}

const INSTALL_WEBGPU = 'npm install webgpu  (Dawn\'s Node binding; its Linux/macOS/Windows binaries ship inside the npm tarball)'
const INSTALL_VULKAN =
  'Linux needs a Vulkan driver that Dawn accepts: with an NVIDIA GPU, the proprietary driver\'s Vulkan ICD ' +
  '(package nvidia-vulkan-icd / libnvidia-gl); without a GPU, Mesa >= 24 lavapipe, on Debian 12: ' +
  '`echo deb http://deb.debian.org/debian bookworm-backports main > /etc/apt/sources.list.d/backports.list && apt-get update && ' +
  'apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` (Debian 12\'s own Mesa 22 is too old for Dawn).'

function defaultDawnOptions(): string[] {
  return process.platform === 'linux' ? ['backend=vulkan'] : []
}

async function loadDawn(): Promise<DawnModule> {
  try {
    return (await import('webgpu')) as unknown as DawnModule
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new Error(`startWebGpu: cannot load the 'webgpu' package (${why}). Install it: ${INSTALL_WEBGPU}`)
  }
}

function summarize(adapter: DawnAdapter): WebGpuAdapterSummary {
  const info = adapter.info
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
  }
}

/** The `navigator.gpu` startWebGpu installed, so stopWebGpu removes only its own. */
let activeGpu: DawnGpu | undefined

function createGpu(dawn: DawnModule, dawnOptions: string[]): DawnGpu {
  try {
    return dawn.create(dawnOptions)
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new Error(`startWebGpu: Dawn rejected options [${dawnOptions.join(', ')}]: ${why}`)
  }
}

async function requestAdapterOrThrow(gpu: DawnGpu, options: StartWebGpuOptions, dawnOptions: string[]): Promise<DawnAdapter> {
  let adapter: DawnAdapter | null
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' })
  } catch (err) {
    // Dawn throws "no suitable backends found" with the list of adapters it saw when `adapter=` matches none.
    const why = err instanceof Error ? err.message : String(err)
    throw new Error(`startWebGpu: no WebGPU adapter for Dawn options [${dawnOptions.join(', ')}]: ${why}\n${INSTALL_VULKAN}`)
  }
  if (adapter === null) {
    throw new Error(
      `startWebGpu: Dawn found no WebGPU adapter (options [${dawnOptions.join(', ')}]). ${INSTALL_VULKAN} ` +
        'Check with VK_LOADER_DEBUG=error,warn that the Vulkan loader finds an ICD (e.g. /usr/share/vulkan/icd.d/lvp_icd.json).',
    )
  }
  return adapter
}

/**
 * Lists the WebGPU adapters Dawn can open, one per power preference (WebGPU has no enumeration API; Dawn lists every
 * adapter only in the error for an unknown `adapter=` name, which this reads). Mesa lavapipe shows one adapter.
 *
 * ```ts
 * const adapters = await listWebGpuAdapters()
 * console.log(adapters.map((a) => a.description)) // ['llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) 0.0.1']
 * ```
 */
export async function listWebGpuAdapters(dawnOptions: string[] = defaultDawnOptions()): Promise<WebGpuAdapterSummary[]> {
  const dawn = await loadDawn()
  const gpu = createGpu(dawn, dawnOptions)
  const seen = new Map<string, WebGpuAdapterSummary>()
  for (const powerPreference of ['high-performance', 'low-power'] as const) {
    const adapter = await gpu.requestAdapter({ powerPreference }).catch(() => null)
    if (adapter === null) continue
    const summary = summarize(adapter)
    seen.set(`${summary.vendor}|${summary.device}|${summary.description}`, summary)
  }
  return [...seen.values()]
}

/**
 * Dawn's names for the adapters it can open (`adapter=<name>` in `dawnOptions` picks one), read from the error Dawn
 * raises for an unknown adapter name: WebGPU itself cannot enumerate adapters.
 *
 * ```ts
 * console.log(await listDawnAdapterNames()) // [{ backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' }]
 * ```
 */
export async function listDawnAdapterNames(): Promise<{ backend: string; name: string }[]> {
  const dawn = await loadDawn()
  const gpu = createGpu(dawn, ['adapter=\u0000tinylab-list-adapters'])
  try {
    await gpu.requestAdapter()
    return []
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err)
    return [...text.matchAll(/backend: '([^']*)', name: '([^']*)'/g)].map((m) => ({ backend: m[1] ?? '', name: m[2] ?? '' }))
  }
}

/**
 * Starts TensorFlow.js's WebGPU backend in Node on Dawn (npm `webgpu`), with TinyLab's training kernels registered.
 * On a machine without a GPU it runs on Mesa lavapipe (slow, but the same GPU code path).
 * `stopWebGpu()` releases the device again (and lets older dawn.node builds exit: see there).
 *
 * ```ts
 * const info = await startWebGpu()
 * console.log(info.adapter) // 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) 0.0.1 [mesa/software, fallback]'
 * tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).print()
 * stopWebGpu()
 * ```
 */
export async function startWebGpu(options: StartWebGpuOptions = {}): Promise<WebGpuBackendInfo> {
  const dawnOptions = options.dawnOptions ?? defaultDawnOptions()
  const dawn = await loadDawn()
  const gpu = createGpu(dawn, dawnOptions)
  const adapter = await requestAdapterOrThrow(gpu, options, dawnOptions)
  const summary = summarize(adapter)

  // tfjs-backend-webgpu registers its backend only if navigator.gpu exists when its module is evaluated.
  installNavigatorGpu(gpu)
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true })
  }
  activeGpu = gpu
  let webgpu: typeof import('@tensorflow/tfjs-backend-webgpu')
  try {
    webgpu = await import('@tensorflow/tfjs-backend-webgpu')
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new Error(`startWebGpu: cannot load @tensorflow/tfjs-backend-webgpu (${why}). Install it: npm install @tensorflow/tfjs-backend-webgpu@^4.22.0`)
  }
  // Our own factory replaces the one the module registered: it opens the adapter chosen by `options` (Dawn's
  // `adapter=` / power preference) and survives stopWebGpu() + startWebGpu() in one process.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu')
  tf.registerBackend('webgpu', () => createTfjsBackend(webgpu.WebGPUBackend, gpu, options), 3)
  if (options.tinylabKernels ?? true) registerAllWebGpuKernels()
  if (!(await tf.setBackend('webgpu'))) {
    throw new Error(
      `startWebGpu: the adapter '${summary.description}' was found but tfjs could not create a WebGPU device on it ` +
        `(see the error above). Dawn needs Vulkan 1.1+ with Mesa >= 24 or a vendor driver. ${INSTALL_VULKAN}`,
    )
  }
  await tf.ready()
  const kind = [summary.vendor, summary.architecture].filter((s) => s !== '').join('/')
  return {
    backend: 'webgpu',
    device: 'webgpu',
    adapter: `${summary.description || summary.device}${kind ? ` [${kind}${summary.isFallbackAdapter ? ', fallback' : ''}]` : ''}`,
    reason: summary.isFallbackAdapter
      ? 'requested: WebGPU on a software adapter (lavapipe): the GPU code path on the CPU, slow'
      : 'requested: WebGPU on Dawn',
  }
}

type WebGPUBackendClass = typeof import('@tensorflow/tfjs-backend-webgpu').WebGPUBackend

async function createTfjsBackend(Backend: WebGPUBackendClass, gpu: DawnGpu, options: StartWebGpuOptions): Promise<InstanceType<WebGPUBackendClass>> {
  // A Dawn adapter is "consumed" by its first requestDevice, so each backend instance asks for a fresh one.
  const adapter = (await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' })) as GPUAdapter | null
  if (adapter === null) throw new Error(`startWebGpu: the WebGPU adapter disappeared. ${INSTALL_VULKAN}`)
  const limits = adapter.limits
  // tfjs sizes its tiles and buffers from these limits; the WebGPU defaults (128 MiB bindings, 16 KiB shared memory)
  // are lower than what most adapters (lavapipe included) allow.
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      // Kernels with many inputs (AddN, Concat) bind one storage buffer per input; WebGPU's default is 8.
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  })
  return new (nodeBackendClass(Backend))(device, adapter.info)
}

/**
 * tfjs reads WebGPU tensors synchronously (`dataSync`, `arraySync`) by drawing them onto an OffscreenCanvas, which Node
 * does not have, and Dawn offers no blocking readback: the upstream error is "OffscreenCanvas is not defined". This
 * subclass replaces it with one that says what to do instead.
 */
function nodeBackendClass(Backend: WebGPUBackendClass): WebGPUBackendClass {
  return class NodeWebGPUBackend extends Backend {
    override readSync(dataId: object): ReturnType<InstanceType<WebGPUBackendClass>['readSync']> {
      try {
        return super.readSync(dataId)
      } catch (err) {
        if (err instanceof ReferenceError && /OffscreenCanvas/.test(err.message)) {
          throw new Error(
            'webgpu: dataSync()/arraySync() cannot read a WebGPU tensor in Node (Dawn has no blocking readback); ' +
              'use `await tensor.data()` or `await tensor.array()` instead',
          )
        }
        throw err
      }
    }
  }
}

function installNavigatorGpu(gpu: DawnGpu): void {
  const g = globalThis as { navigator?: object }
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true })
  }
  // Node >= 21 has its own read-only `navigator`; defining `gpu` on it works where assignment may not.
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true })
}

/**
 * Removes the tfjs WebGPU backend (its buffers and device) and drops the `navigator.gpu` startWebGpu installed.
 * dawn.node builds before the fix of https://issues.chromium.org/issues/387965810 keep Node from exiting while
 * `navigator.gpu` is reachable; webgpu@0.6.2 exits either way (checked here on lavapipe, main thread and workers).
 * startWebGpu() may be called again afterwards.
 *
 * ```ts
 * await startWebGpu(); /* ...train... *\/ stopWebGpu()
 * ```
 */
export function stopWebGpu(): void {
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu')
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator
  if (nav !== undefined && nav.gpu === activeGpu) delete nav.gpu
  activeGpu = undefined
}
