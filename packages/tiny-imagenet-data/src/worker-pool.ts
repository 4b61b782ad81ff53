import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { BatchResult, JobContext } from './batch-job'

export type WorkerRequest =
  | { id: number; kind: 'init'; ctx: JobContext }
  | { id: number; kind: 'batch'; indices: Int32Array; epoch: number; slot: number | undefined }
  | { id: number; kind: 'decode'; paths: string[]; indices: Int32Array; height: number; width: number; skipBad: boolean }

/** A request before the pool numbers it (Omit distributed over the union). */
export type WorkerRequestBody = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never

export type WorkerReply =
  | { id: number; kind: 'ok' }
  | { id: number; kind: 'batch'; x: Float32Array | undefined; y: Int32Array; skipped: BatchResult['skipped'] }
  | { id: number; kind: 'decode'; pixels: Uint8Array; ok: Uint8Array; skipped: BatchResult['skipped'] }
  | { id: number; kind: 'error'; message: string }

/**
 * The worker script next to this module: `decode-worker.js`/`.cjs` in the published build, or the TypeScript source
 * when the package runs from source (tests, examples through vite-node), which needs tsx's loader in the worker.
 */
function startWorker(): Worker {
  const here = fileURLToPath(import.meta.url)
  const ext = path.extname(here)
  const file = path.join(path.dirname(here), `decode-worker${ext}`)
  if (ext !== '.ts') return new Worker(file)
  // From source: a worker does not inherit vite-node's transform, so tsx's loader compiles the worker's modules.
  const tsx = createRequire(path.join(process.cwd(), 'package.json')).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')
  const bootstrap = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((api) => api.register()).then(() => import(${JSON.stringify(pathToFileURL(file).href)}))`
  return new Worker(bootstrap, { eval: true })
}

interface Pending {
  resolve: (r: WorkerReply) => void
  reject: (e: Error) => void
}

/** A fixed set of decode workers; jobs go round-robin and each answer resolves its own promise. */
export class WorkerPool {
  private readonly workers: Worker[] = []
  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private turn = 0
  private closed = false

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const w = startWorker()
      w.on('message', (reply: WorkerReply) => {
        const p = this.pending.get(reply.id)
        if (!p) return
        this.pending.delete(reply.id)
        if (reply.kind === 'error') p.reject(new Error(reply.message))
        else p.resolve(reply)
      })
      w.on('error', (e) => this.failAll(e))
      w.on('exit', (code) => {
        if (!this.closed) this.failAll(new Error(`decode worker exited with code ${code}`))
      })
      this.workers.push(w)
    }
  }

  get size(): number {
    return this.workers.length
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
  }

  /** Sends one request to worker `to` (default: the next in turn). Typed arrays in `transfer` move without a copy. */
  send(request: WorkerRequestBody, to?: number): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'))
    const id = this.nextId++
    const worker = this.workers[to ?? this.turn++ % this.workers.length] as Worker
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ ...request, id })
    })
  }

  /** Sends `request` to every worker (init). */
  broadcast(request: WorkerRequestBody): Promise<WorkerReply[]> {
    return Promise.all(this.workers.map((_, i) => this.send(request, i)))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.failAll(new Error('worker pool closed'))
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
