// Loads the compiled addon once and remembers why it could not be loaded. Private: the public surface is
// loadNativeCpu() / registerNativeKernels().
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** What the compiled addon (csrc/addon.cc) exports. */
export interface NativeAddon {
  conv2d(heap: Uint8Array, xOffset: number, filterOffset: number, yOffset: number, params: Int32Array): void
  conv2dBackpropInput(heap: Uint8Array, dyOffset: number, filterOffset: number, dxOffset: number, params: Int32Array): void
  conv2dBackpropFilter(heap: Uint8Array, xOffset: number, dyOffset: number, dwOffset: number, params: Int32Array): void
  batchMatMul(heap: Uint8Array, aOffset: number, bOffset: number, cOffset: number, params: Int32Array): void
  maxPoolGrad(heap: Uint8Array, xOffset: number, dyOffset: number, dxOffset: number, params: Int32Array): void
  reduceSum(heap: Uint8Array, xOffset: number, yOffset: number, params: Int32Array, scale: number): void
  tile(heap: Uint8Array, xOffset: number, yOffset: number, params: Int32Array): void
  /** offsets: [x, gamma, beta, y, mean, variance, rstd]; params: [rows, channels]. */
  batchNormTraining(heap: Uint8Array, offsets: Float64Array, params: Int32Array, eps: number): void
  /** offsets: [dy, x, mean, rstd, gamma, dx, dgamma, dbeta]; params: [rows, channels]. */
  batchNormTrainingGrad(heap: Uint8Array, offsets: Float64Array, params: Int32Array): void
  /** offsets: [param, grad, buffer, paramOut, bufferOut]; options: [lr, momentum, dampening, weightDecay, nesterov 0|1]. */
  sgdMomentum(heap: Uint8Array, offsets: Float64Array, n: number, options: Float64Array): void
  exp(heap: Uint8Array, xOffset: number, yOffset: number, params: Int32Array): void
  /** offsets: [x, y]; params: [rows, cols] (log-softmax over cols). */
  logSoftmax(heap: Uint8Array, offsets: Float64Array, params: Int32Array): void
  /** offsets: [dy, y, dx]; params: [rows, cols]. */
  logSoftmaxGrad(heap: Uint8Array, offsets: Float64Array, params: Int32Array): void
  setThreads(threads: number): void
  info(): { onednn: string; isa: string; threads: number; cachedPrimitives: number }
}

export type AddonState = { addon: NativeAddon; path: string } | { addon: null; reason: string }

export const ENABLE_HINT =
  'to enable it: `apt-get install libdnnl-dev g++ make python3`, then `pnpm rebuild @tinylab/native-cpu` ' +
  '(or `pnpm --filter @tinylab/native-cpu build:native`); on Linux x64 with glibc a reinstall that lets npm fetch ' +
  'the optional @tinylab/native-cpu-linux-x64-gnu needs neither'

const packageRoot = fileURLToPath(new URL('..', import.meta.url))
/** Where scripts/build-native.mjs puts the addon, and where it writes why a build failed. */
export const DEFAULT_ADDON_PATH = `${packageRoot}build/Release/tinylab_native_cpu.node`
const BUILD_FAILURE_PATH = `${packageRoot}build/build-failure.txt`

let state: AddonState | undefined

/** Loads the addon (memoised). TINYLAB_NATIVE_CPU=0 turns it off; TINYLAB_NATIVE_CPU_PATH points at another build. */
export function addonState(): AddonState {
  state ??= loadAddon()
  return state
}

/** Forgets the memoised result so tests can change the environment variables and load again. */
export function resetAddonStateForTests(): void {
  state = undefined
}

const PREBUILT_PACKAGE = '@tinylab/native-cpu-linux-x64-gnu'

/**
 * Where the addon is: TINYLAB_NATIVE_CPU_PATH, else a source build in this package (scripts/build-native.mjs), else
 * the prebuilt one of the platform package (an optional dependency, installed on Linux x64 glibc only).
 */
function addonPath(): string {
  const fromEnv = process.env['TINYLAB_NATIVE_CPU_PATH']
  if (fromEnv !== undefined) return fromEnv
  if (existsSync(DEFAULT_ADDON_PATH)) return DEFAULT_ADDON_PATH
  try {
    return createRequire(import.meta.url).resolve(`${PREBUILT_PACKAGE}/tinylab_native_cpu.node`)
  } catch {
    return DEFAULT_ADDON_PATH
  }
}

function loadAddon(): AddonState {
  if (process.env['TINYLAB_NATIVE_CPU'] === '0') {
    return { addon: null, reason: 'native CPU kernels disabled by TINYLAB_NATIVE_CPU=0' }
  }
  const path = addonPath()
  if (!existsSync(path)) {
    const failure = existsSync(BUILD_FAILURE_PATH) ? ` (build failed: ${firstLine(readFileSync(BUILD_FAILURE_PATH, 'utf8'))})` : ''
    const prebuilt = process.env['TINYLAB_NATIVE_CPU_PATH'] === undefined ? ` and ${PREBUILT_PACKAGE} is not installed` : ''
    return { addon: null, reason: `@tinylab/native-cpu addon not built: ${path} is missing${prebuilt}${failure}; ${ENABLE_HINT}` }
  }
  // libgomp reads its environment once, when the addon pulls it in. Its default (spin before sleeping) made a
  // ResNet step several times slower whenever other processes held the cores: every parallel region then waits a
  // scheduler slice for its descheduled partner. Sleeping waiters cost microseconds per region on an idle machine.
  process.env['OMP_WAIT_POLICY'] ??= 'passive'
  try {
    const require = createRequire(import.meta.url)
    return { addon: require(path) as NativeAddon, path }
  } catch (error) {
    // Typically "libdnnl.so.2: cannot open shared object file" when libdnnl was removed after the build.
    const message = error instanceof Error ? error.message : String(error)
    return { addon: null, reason: `@tinylab/native-cpu addon failed to load: ${firstLine(message)}; ${ENABLE_HINT}` }
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? ''
}
