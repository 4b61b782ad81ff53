// Worker thread entry: decodes and augments batches for the loader. Started by worker-pool.ts, never imported.
import { parentPort } from 'node:worker_threads'
import { runBatch, runDecode } from './batch-job'
import type { JobContext } from './batch-job'
import { initJpegDecoder } from './jpeg'
import type { WorkerReply, WorkerRequest } from './worker-pool'

let ctx: JobContext | undefined
const port = parentPort
if (!port) throw new Error('decode-worker.ts must run in a worker thread')

port.on('message', (msg: WorkerRequest) => {
  void (async () => {
    try {
      await initJpegDecoder()
      if (msg.kind === 'init') {
        ctx = msg.ctx
        port.postMessage({ id: msg.id, kind: 'ok' } satisfies WorkerReply)
      } else if (msg.kind === 'batch') {
        if (!ctx) throw new Error('worker used before init')
        const ring = msg.slot !== undefined ? ctx.ring : undefined
        const out = ring ? ring.buffer.subarray((msg.slot as number) * ring.slotFloats, ((msg.slot as number) + 1) * ring.slotFloats) : undefined
        const r = runBatch(ctx, msg.indices, msg.epoch, out)
        // Pixels written into the shared ring need no transfer: only the labels travel.
        const x = out ? undefined : r.x
        port.postMessage({ id: msg.id, kind: 'batch', x, y: r.y, skipped: r.skipped } satisfies WorkerReply, x ? [x.buffer as ArrayBuffer, r.y.buffer as ArrayBuffer] : [r.y.buffer as ArrayBuffer])
      } else {
        const r = runDecode(msg.paths, msg.indices, msg.height, msg.width, msg.skipBad)
        port.postMessage({ id: msg.id, kind: 'decode', ...r } satisfies WorkerReply, [r.pixels.buffer as ArrayBuffer, r.ok.buffer as ArrayBuffer])
      }
    } catch (e) {
      port.postMessage({ id: msg.id, kind: 'error', message: (e as Error).message } satisfies WorkerReply)
    }
  })()
})
