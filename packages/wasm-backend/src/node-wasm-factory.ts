// Starts tfjs-backend-wasm's threaded-SIMD build in Node.
//
// tfjs-backend-wasm 4.22 cannot do this by itself (tensorflow/tfjs#3830):
// - its WASM_HAS_MULTITHREAD_SUPPORT flag returns false whenever IS_NODE;
// - its loader hands emscripten a `blob:` URL for the pthread worker script, and Node's `worker_threads.Worker` only
//   accepts file paths (ERR_WORKER_PATH); the worker then `importScripts` the main script, again from a Blob.
// So we register our own factory for the 'wasm' backend that calls the same emscripten module with file paths:
// the `.wasm` and the main script are resolved from node_modules (no network), and the worker script, which tfjs
// ships only as a string export, is written once to a content-addressed file in the OS temp dir.
import * as tf from '@tensorflow/tfjs-core'
// Types only: the module is handed in by startWasm, which imports it when asked to start.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { createHash } from 'node:crypto'
import { existsSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'

/** The emscripten module object, as far as we use it before handing it to BackendWasm. */
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number
  /** Present in the threaded build: emscripten's pool of pthread workers. */
  PThread?: PThreadPool
}
/** The part of emscripten's `PThread` object (library_pthread.js) that owns the Node `Worker`s. */
interface PThreadPool {
  unusedWorkers: PThreadWorker[]
  runningWorkers: PThreadWorker[]
  allocateUnusedWorker(): void
  terminateAllThreads(): void
}
interface PThreadWorker {
  ref(): void
  unref(): void
}
type EmscriptenFactory = (config: {
  locateFile: (file: string, prefix: string) => string
  mainScriptUrlOrBlob?: string
  onAbort?: (what: unknown) => void
}) => Promise<EmscriptenModule>
type BackendWasmModule = ConstructorParameters<typeof BackendWasm>[0]
/** What we use of `@tensorflow/tfjs-backend-wasm`, handed in by the caller that imported it. */
export type TfjsBackendWasm = Pick<typeof import('@tensorflow/tfjs-backend-wasm'), 'BackendWasm' | 'setThreadsCount'>

export interface WasmBuild {
  /** The emscripten build that was loaded. */
  binary: 'tfjs-backend-wasm-threaded-simd.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm.wasm'
  simd: boolean
  threaded: boolean
  /** The directory the files came from. */
  wasmOutDir: string
}

const nodeRequire = createRequire(import.meta.url)

/** `.../node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/`, where the emscripten JS + .wasm pairs live. */
export function wasmOutDir(): string {
  let pkg: string
  try {
    pkg = nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')
  } catch {
    throw new Error(
      "startWasm: needs @tensorflow/tfjs-backend-wasm next to @tensorflow/tfjs-core: " +
        'npm install @tensorflow/tfjs-backend-wasm@^4.22.0',
    )
  }
  return path.join(path.dirname(pkg), 'wasm-out')
}

/** Detects WebAssembly SIMD the way tfjs does (a tiny module using one v128 instruction). */
export function hasWasmSimd(): boolean {
  // @types/node declares no WebAssembly global; it exists in every Node >= 8.
  const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly
  return wasm.validate(
    new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]),
  )
}

/** Writes the pthread worker script to a file whose name is its content hash, so concurrent processes agree. */
function workerScriptFile(outDir: string): string {
  const { wasmWorkerContents } = nodeRequire(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string
  }
  // The string came out of a template literal, which turned the script's `"\n"` escapes into real newlines inside
  // string literals; put the escapes back (tfjs does the same before making its Blob).
  const source = wasmWorkerContents.replace(/\n/g, '\\n')
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16)
  // .cjs: the script uses require() and must not be taken for ESM by a surrounding package.json.
  const file = path.join(os.tmpdir(), `tinylab-tfjs-wasm-pthread-${hash}.cjs`)
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, source)
    renameSync(tmp, file)
  }
  return file
}

/**
 * The wasm backend sizes its thread pool once, in a static constructor, as min(requested, logical cores / 2, 8)
 * (tfjs-backend-wasm src/cc/backend.cc: it assumes two hyper-threads per core), and emscripten answers "logical cores"
 * in Node with `require('os').cpus().length`. On a 2-vCPU machine that caps us at one thread. While the module
 * starts, `os.cpus()` reports `count` entries so that the cap becomes the number of threads asked for; the real
 * function is put back as soon as the module is up.
 */
function pretendLogicalCores(count: number): () => void {
  const real = os.cpus
  const cpus = real()
  const first = cpus[0]
  if (first === undefined || cpus.length >= count) return () => {}
  os.cpus = () => Array.from({ length: count }, (_, i) => cpus[i] ?? first)
  return () => {
    os.cpus = real
  }
}

/**
 * Lets Node exit while the wasm backend's pthread workers are alive. XNNPACK's thread pool parks its threads for the
 * life of the module, and emscripten `ref()`s a worker while its thread runs, so without this a program that used the
 * wasm backend never exits by itself. Nothing is lost by unref'ing them: the main thread calls into wasm synchronously
 * and waits for the pool inside that call, so no pending work depends on a worker keeping the event loop alive.
 */
function neverHoldProcess(pool: PThreadPool): void {
  const release = (w: PThreadWorker): void => {
    w.unref()
    w.ref = () => {}
  }
  for (const w of [...pool.unusedWorkers, ...pool.runningWorkers]) release(w)
  const allocate = pool.allocateUnusedWorker.bind(pool)
  pool.allocateUnusedWorker = () => {
    allocate()
    const added = pool.unusedWorkers[pool.unusedWorkers.length - 1]
    if (added) release(added)
  }
}

/** Ends the pthread workers of the wasm module this process started, if any (see `disposeWasmThreads`). */
let terminatePool: (() => void) | undefined

/**
 * Terminates the threaded wasm build's workers. For long-lived hosts (servers, test runners) that are done with the
 * wasm backend; call after `tf.removeBackend('wasm')`. Idempotent.
 */
export function disposeWasmThreads(): void {
  terminatePool?.()
  terminatePool = undefined
}

/**
 * Replaces tfjs-backend-wasm's backend factory with one that can start the threaded-SIMD build in Node.
 * `threads` > 1 needs SIMD (tfjs ships threads only in the SIMD build). Call before `tf.setBackend('wasm')`.
 */
export function registerNodeWasmFactory(wasm: TfjsBackendWasm, threads: number): WasmBuild {
  const outDir = wasmOutDir()
  const simd = hasWasmSimd()
  const threaded = simd && threads > 1
  const script = threaded ? 'tfjs-backend-wasm-threaded-simd' : 'tfjs-backend-wasm'
  const binary: WasmBuild['binary'] = threaded
    ? 'tfjs-backend-wasm-threaded-simd.wasm'
    : simd
      ? 'tfjs-backend-wasm-simd.wasm'
      : 'tfjs-backend-wasm.wasm'
  const mainScript = path.join(outDir, `${script}.js`)
  const worker = threaded ? workerScriptFile(outDir) : undefined

  const factory = async (): Promise<BackendWasm> => {
    const create = nodeRequire(mainScript) as EmscriptenFactory
    let abortReason: unknown
    const restoreCpus = threaded ? pretendLogicalCores(2 * threads) : () => {}
    const module = await create({
      locateFile: (file, prefix) => {
        if (file.endsWith('.worker.js') && worker) return worker
        if (file.endsWith('.wasm')) return path.join(outDir, binary)
        return prefix + file
      },
      // The worker loads the main script from here (a path: Node's importScripts shim reads files only).
      mainScriptUrlOrBlob: mainScript,
      onAbort: (what) => {
        abortReason = what
      },
    }).catch((e: unknown) => {
      throw new Error(`startWasm: the wasm module ${binary} failed to load from ${outDir}: ${String(abortReason ?? e)}`)
    }).finally(restoreCpus)
    // The same bridge tfjs-backend-wasm's own init() installs (backend_wasm.ts).
    const tfjsBridge = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    }
    Object.assign(module, { tfjs: tfjsBridge })
    if (module.PThread) {
      const pool = module.PThread
      neverHoldProcess(pool)
      terminatePool = () => pool.terminateAllThreads()
    }
    wasm.setThreadsCount(threaded ? threads : 1)
    return new wasm.BackendWasm(module as unknown as BackendWasmModule)
  }

  // tfjs registered 'wasm' (priority 2) when its package was imported; swap in our factory under the same name so
  // every wasm kernel (registered by backend name) stays in place.
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm')
  tf.registerBackend('wasm', factory, 2)
  tf.env().set('WASM_HAS_SIMD_SUPPORT', simd)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threaded)
  return { binary, simd, threaded, wasmOutDir: outDir }
}
