// How a replica worker loads TypeScript. worker_threads cannot run .ts, and tfjs-core's gradient registrations are
// extensionless ESM that plain Node (and tsx) cannot import. So in workspace runs (this file is .ts: we run from
// source under vite-node or vitest) the coordinator starts ONE Vite server with the repository's config
// (`@tinylab/source` condition, @tensorflow inlined) and every worker runs a vite-node runner that fetches transformed
// modules from it over a MessagePort (as vitest's thread pool does): tfjs-core is transformed once, not once per worker.
// From the published build (this code is dist/index.js) a worker simply imports the built package, which bundles
// those registrations. The bootstrap is an `eval` worker so that no extra file has to be shipped next to dist/.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import type { WorkerConfig } from './_protocol'

export type WorkerLoader = 'auto' | 'vite-node' | 'node'

export interface BootOptions {
  loader: WorkerLoader
  /** Vite config for vite-node workers (default: the nearest vite.config.ts above the current directory). */
  viteConfig?: string
}

export interface ReplicaWorkers {
  workers: Worker[]
  close(): Promise<void>
}

type Boot = { kind: 'vite-node'; viteNodeClient: string; root: string; base: string; entry: string } | { kind: 'node'; entry: string }

const BOOTSTRAP = `
const { workerData, parentPort } = require('node:worker_threads')
const boot = workerData.boot
async function main() {
  if (boot.kind === 'node') {
    const entry = await import(boot.entry)
    const { pathToFileURL } = require('node:url')
    const path = require('node:path')
    return entry.runReplicaWorker((spec) => import(path.isAbsolute(spec) ? pathToFileURL(spec).href : spec))
  }
  const { ViteNodeRunner } = await import(boot.viteNodeClient)
  const port = workerData.port
  const waiting = new Map()
  let next = 0
  port.on('message', (m) => {
    const w = waiting.get(m.id)
    waiting.delete(m.id)
    if (waiting.size === 0) port.unref()
    if (m.error !== undefined) w.reject(new Error(m.error))
    else w.resolve(m.result)
  })
  const call = (method, args) => new Promise((resolve, reject) => {
    const id = next++
    waiting.set(id, { resolve, reject })
    port.ref()
    port.postMessage({ id, method, args })
  })
  const runner = new ViteNodeRunner({
    root: boot.root,
    base: boot.base,
    fetchModule: (id) => call('fetchModule', [id]),
    resolveId: (id, importer) => call('resolveId', [id, importer]),
  })
  await runner.executeId('/@vite/env')
  const entry = await runner.executeFile(boot.entry)
  return entry.runReplicaWorker(async (spec, from) => {
    const resolved = await call('resolveId', [spec, from])
    if (!resolved) throw new Error("replica module '" + spec + "' not found from " + from)
    return runner.executeId(resolved.id)
  })
}
main().catch((error) => {
  parentPort.postMessage({ type: 'error', rank: workerData.config.rank, message: String(error && error.stack || error) })
})
`

/** Starts one worker per config (and, from TypeScript sources, the module server they share). */
export async function startReplicaWorkers(configs: WorkerConfig[], options: BootOptions): Promise<ReplicaWorkers> {
  const self = fileURLToPath(import.meta.url)
  const fromSource = self.endsWith('.ts')
  const loader = options.loader === 'auto' ? (fromSource ? 'vite-node' : 'node') : options.loader
  if (loader === 'node') {
    if (fromSource) throw new Error("data-parallel: loader 'node' needs the built package (dist/); from TypeScript sources use 'vite-node'")
    // This module is bundled into dist/ (index.js, index.cjs or a chunk beside them); the index exports runReplicaWorker.
    const boot: Boot = { kind: 'node', entry: new URL(self.endsWith('.cjs') ? './index.cjs' : './index.js', import.meta.url).href }
    const workers = configs.map((config) => new Worker(BOOTSTRAP, { eval: true, workerData: { config, boot } }))
    return { workers, close: async () => {} }
  }
  const server = await startModuleServer(options.viteConfig)
  const entry = self.endsWith('replica-worker.ts') ? self : path.join(path.dirname(self), 'replica-worker.ts')
  const boot: Boot = { kind: 'vite-node', viteNodeClient: server.viteNodeClient, root: server.root, base: server.base, entry }
  const workers = configs.map((config) => {
    const { port1, port2 } = new MessageChannel()
    server.serve(port1)
    return new Worker(BOOTSTRAP, { eval: true, workerData: { config, boot, port: port2 }, transferList: [port2] })
  })
  return { workers, close: () => server.close() }
}

/** A file path a resolver can use as importer: `from` (path, file URL or directory) or the current directory. */
export function importerPath(from: string | undefined): string {
  const p = from === undefined ? process.cwd() : from.startsWith('file:') ? fileURLToPath(from) : from
  return existsSync(p) && statSync(p).isDirectory() ? path.join(p, '__importer__.js') : p
}

// The slice of Vite / vite-node APIs used here (they are dev-only, optional: imported dynamically by path).
interface ViteNodeServerLike {
  fetchModule(id: string): Promise<unknown>
  resolveId(id: string, importer?: string): Promise<{ id: string; external?: unknown } | null>
}
interface ViteServerLike {
  config: { root: string; base: string }
  environments?: { client: { pluginContainer: { buildStart(o: object): Promise<void> } } }
  pluginContainer: { buildStart(o: object): Promise<void> }
  close(): Promise<void>
}

async function startModuleServer(viteConfig: string | undefined): Promise<{
  viteNodeClient: string
  root: string
  base: string
  serve(port: MessagePort): void
  close(): Promise<void>
}> {
  const configFile = viteConfig ?? findUp('vite.config.ts', process.cwd())
  const root = configFile ? path.dirname(configFile) : process.cwd()
  const resolve = (pkg: string, subpath: string, from = root): string => {
    const entry = esmEntry(from, pkg, subpath)
    if (entry === undefined) {
      throw new Error(`data-parallel: '${pkg}' is needed to run replica workers from TypeScript sources: install vite and vite-node in ${root}`)
    }
    return pathToFileURL(entry).href
  }
  const viteNodeServerUrl = resolve('vite-node', './server')
  // The vite that vite-node itself imports: a workspace may hold several majors, and they do not mix.
  const viteUrl = resolve('vite', '.', path.dirname(fileURLToPath(viteNodeServerUrl)))
  const { createServer } = (await import(viteUrl)) as { createServer(config: object): Promise<ViteServerLike> }
  const { ViteNodeServer } = (await import(viteNodeServerUrl)) as {
    ViteNodeServer: new (server: ViteServerLike, options: object) => ViteNodeServerLike
  }
  const server = await createServer({
    configFile: configFile ?? false,
    root,
    logLevel: 'error',
    clearScreen: false,
    server: { hmr: false, watch: null },
    resolve: { conditions: ['@tinylab/source'] },
    ssr: { resolve: { conditions: ['@tinylab/source'], externalConditions: ['@tinylab/source'] } },
  })
  // As vite-node's CLI: plugins must see buildStart before the first transform (Vite >= 6 exposes environments).
  await (server.environments?.client.pluginContainer ?? server.pluginContainer).buildStart({})
  const node = new ViteNodeServer(server, { deps: { inline: [/@tensorflow\//] } })
  const ports: MessagePort[] = []
  return {
    viteNodeClient: resolve('vite-node', './client'),
    root: server.config.root,
    base: server.config.base,
    serve(port) {
      ports.push(port)
      port.on('message', (m: { id: number; method: 'fetchModule' | 'resolveId'; args: [string, string?] }) => {
        const answer =
          m.method === 'fetchModule'
            ? node.fetchModule(m.args[0])
            : node.resolveId(m.args[0], m.args[1]).then((r) => (r ? { id: r.id, external: r.external } : null))
        answer.then(
          (result) => port.postMessage({ id: m.id, result }),
          (error: unknown) => port.postMessage({ id: m.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
        )
      })
      port.unref()
    },
    async close() {
      for (const port of ports) port.close()
      await server.close()
    },
  }
}

function findUp(name: string, dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, name)
    if (existsSync(candidate)) return candidate
    if (path.dirname(d) === d) return undefined
  }
}

/** The ESM file of `pkg`'s export `subpath` as seen from `dir` (require.resolve would pick the CJS build). */
function esmEntry(dir: string, pkg: string, subpath: string): string | undefined {
  let manifestPath: string
  try {
    manifestPath = createRequire(path.join(dir, 'package.json')).resolve(`${pkg}/package.json`)
  } catch {
    return undefined
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: Record<string, unknown> }
  const target = manifest.exports?.[subpath]
  const file = pickImport(target)
  return file === undefined ? undefined : path.join(path.dirname(manifestPath), file)
}

function pickImport(target: unknown): string | undefined {
  if (typeof target === 'string') return target
  if (target === null || typeof target !== 'object') return undefined
  const conditions = target as Record<string, unknown>
  return pickImport(conditions.import) ?? pickImport(conditions.default)
}
