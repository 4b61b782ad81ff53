import { availableParallelism } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import type { TransformOptions } from './augment'
import { runBatch, runDecode } from './batch-job'
import type { BatchResult, ImageSource, JobContext } from './batch-job'
import { readCache, readCacheHeader, samplesFingerprint, writeCache } from './cache'
import { initJpegDecoder } from './jpeg'
import { readSplit } from './layout'
import type { ClassSelection, Sample, Split } from './layout'
import { epochOrder } from './random'
import { WorkerPool } from './worker-pool'

/** One batch: NHWC float32 images normalised with the ImageNet mean/std, int32 labels. The consumer disposes both. */
export interface Batch {
  x: tf.Tensor4D
  y: tf.Tensor1D
}

export interface LoaderOptions extends TransformOptions {
  batchSize: number
  /** Reshuffle every epoch (seeded by seed and epoch). Default true. */
  shuffle?: boolean
  /** Seed of the order and the augmentation. Default 0. */
  seed?: number
  /** Drop the last incomplete batch (DataLoader drop_last). Default false. */
  dropLast?: boolean
  /** Decode/augment threads; 0 runs everything on the calling thread. Default: CPU count, at most 8. */
  workers?: number
  /** Batches being prepared ahead of the consumer. Default 2 per worker (2 with no workers). */
  prefetch?: number
  /**
   * Path of a packed uint8 cache of the decoded images. Built (atomically) on first use or when it does not match the
   * sample list; later epochs and runs then skip JPEG decoding.
   */
  cache?: string
  /** Skip (and count, see `skipped`) unreadable or corrupt images instead of failing. Default false. */
  skipBad?: boolean
  /**
   * Recycle the memory of batches whose tensors were disposed (default true): x tensors wrap slots of a shared ring
   * instead of a new 12.6 MB array per batch, which halves the loader's CPU time. A slot is reused only when no
   * tensor references it (views from reshape included), but an array obtained with `x.dataSync()` on the cpu
   * backend IS the slot: copy it if you keep it after disposing x, or set false.
   */
  reuseMemory?: boolean
  /** Report cache building to stderr. Default false. */
  verbose?: boolean
}

function commonDir(samples: Sample[]): string {
  if (samples.length === 0) return '/'
  let dir = path.dirname((samples[0] as Sample).path)
  for (const s of samples) while (!s.path.startsWith(dir + path.sep) && dir !== path.dirname(dir)) dir = path.dirname(dir)
  return dir
}

/**
 * Batches of Tiny-ImageNet images, decoded and augmented in worker threads with prefetch, in a seeded order that is
 * the same on every run, for any number of workers, and can resume mid-epoch (`batches(epoch, { startBatch })`).
 *
 * @example
 * ```ts
 * const { samples } = readSplit('/data/tiny-imagenet-200', 'train', { numClasses: 10 })
 * const loader = await TinyImageNetLoader.create(samples, { batchSize: 256, augment: 'random-resized-crop', flip: true, cache: '/tmp/tin10.cache' })
 * for await (const { x, y } of loader.batches(0)) {
 *   // x: [256, 64, 64, 3] float32, y: [256] int32
 *   tf.dispose([x, y])
 * }
 * await loader.close()
 * ```
 */
export class TinyImageNetLoader {
  /** Files skipped under `skipBad` so far (decode failures and files left out of the cache). */
  readonly skipped: { file: string; reason: string }[] = []

  private constructor(
    private readonly ctx: JobContext,
    /** Number of usable samples (the cache may hold fewer than listed when `skipBad` dropped some). */
    readonly count: number,
    private readonly options: LoaderOptions,
    private readonly pool: WorkerPool | undefined,
  ) {}

  /** Creates the workers and, when `cache` is set, loads or builds the cache. Call `close()` when done. */
  static async create(samples: Sample[], options: LoaderOptions): Promise<TinyImageNetLoader> {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`)
    const workers = options.workers ?? Math.min(availableParallelism(), 8)
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`workers must be a non-negative integer, got ${workers}`)
    const pool = workers > 0 ? new WorkerPool(workers) : undefined
    try {
      if (!pool) await initJpegDecoder()
      const skipBad = options.skipBad ?? false
      const early: { file: string; reason: string }[] = []
      let source: ImageSource = { kind: 'files', paths: samples.map((s) => s.path) }
      let labels: Int32Array = Int32Array.from(samples, (s) => s.label)
      if (options.cache) {
        const cache = await loadOrBuildCache(options.cache, samples, pool, skipBad, options.verbose ?? false, early)
        source = { kind: 'cache', pixels: cache.pixels, height: cache.header.height, width: cache.header.width }
        labels = cache.labels
      }
      const size = options.size ?? 64
      const slotFloats = options.batchSize * size * size * 3
      const slots = prefetchDepth(options, pool) + 2
      // Batches are written into a ring of shared slots that tensors then wrap without a copy. Allocating a fresh
      // 12.6 MB array per batch instead made the main thread's garbage collector a third of the CPU time.
      const ring = options.reuseMemory === false ? undefined : { buffer: new Float32Array(new SharedArrayBuffer(slots * slotFloats * 4)), slotFloats }
      const ctx: JobContext = { source, labels, transform: transformOf(options), seed: options.seed ?? 0, skipBad, ring }
      if (pool) await pool.broadcast({ kind: 'init', ctx })
      const loader = new TinyImageNetLoader(ctx, labels.length, options, pool)
      loader.skipped.push(...early)
      return loader
    } catch (e) {
      await pool?.close()
      throw e
    }
  }

  /** Batches per epoch. */
  get numBatches(): number {
    const bs = this.options.batchSize
    return this.options.dropLast ? Math.floor(this.count / bs) : Math.ceil(this.count / bs)
  }

  /** The sample order of `epoch` (indices into the sample list). */
  order(epoch: number): Int32Array {
    return epochOrder(this.count, this.options.seed ?? 0, epoch, this.options.shuffle ?? true)
  }

  /** Tensors wrapping each ring slot (latest use), to know when the consumer has let go of a slot. */
  private readonly slotUsers: ({ backend: tf.KernelBackend; dataId: object } | undefined)[] = []
  private readonly slotBusy: boolean[] = []

  /** A ring slot that no live tensor and no pending job uses, or undefined (the job then gets its own buffer). */
  private takeSlot(): number | undefined {
    const ring = this.ctx.ring
    if (!ring) return undefined
    const slots = ring.buffer.length / ring.slotFloats
    for (let k = 0; k < slots; k++) {
      if (this.slotBusy[k]) continue
      const user = this.slotUsers[k]
      // refCount covers views too: a reshape of x shares its data and keeps the slot alive.
      if (user && user.backend.refCount(user.dataId) > 0) continue
      this.slotBusy[k] = true
      this.slotUsers[k] = undefined
      return k
    }
    return undefined
  }

  private slotView(slot: number, length: number): Float32Array {
    const ring = this.ctx.ring as NonNullable<JobContext['ring']>
    return ring.buffer.subarray(slot * ring.slotFloats, slot * ring.slotFloats + length)
  }

  private run(indices: Int32Array, epoch: number, slot: number | undefined): Promise<BatchResult> {
    const per = (this.ctx.transform.size ?? 64) ** 2 * 3
    if (!this.pool) {
      return Promise.resolve().then(() => runBatch(this.ctx, indices, epoch, slot === undefined ? undefined : this.slotView(slot, indices.length * per)))
    }
    return this.pool.send({ kind: 'batch', indices, epoch, slot }).then((r) => {
      if (r.kind !== 'batch') throw new Error(`unexpected worker reply ${r.kind}`)
      return { x: r.x ?? this.slotView(slot as number, r.y.length * per), y: r.y, skipped: r.skipped }
    })
  }

  /**
   * The batches of `epoch` as plain arrays (no tfjs needed): `x` is [n, size, size, 3] float32 NHWC, `y` int32.
   * Starts at batch `startBatch`, so a resumed run (same seed, epoch, start) sees the batches an uninterrupted run
   * would have seen.
   */
  arrays(epoch = 0, options: { startBatch?: number } = {}): AsyncGenerator<{ x: Float32Array; y: Int32Array }> {
    return this.generate(epoch, options.startBatch ?? 0, false)
  }

  /** `useRing`: write into shared slots (for tensors, whose release we can observe), else into fresh arrays. */
  private async *generate(epoch: number, startBatch: number, useRing: boolean): AsyncGenerator<{ x: Float32Array; y: Int32Array; slot: number | undefined }> {
    const order = this.order(epoch)
    const bs = this.options.batchSize
    const total = this.numBatches
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > total) throw new Error(`startBatch must be an integer in [0, ${total}], got ${startBatch}`)
    const depth = prefetchDepth(this.options, this.pool)
    const inflight: { result: Promise<BatchResult>; slot: number | undefined }[] = []
    let next = startBatch
    const submit = (): void => {
      const b = next++
      const slot = useRing ? this.takeSlot() : undefined
      const result = this.run(order.slice(b * bs, Math.min((b + 1) * bs, this.count)), epoch, slot)
      // A prefetched batch may fail (a corrupt image) while the consumer is still busy with an earlier one. Marking
      // the promise handled keeps that from becoming an unhandled rejection (which tfjs-backend-wasm turns into a
      // crash dump); the error still reaches the consumer when it awaits this batch, or is dropped if it stops first.
      result.catch(() => {})
      inflight.push({ result, slot })
    }
    let current: number | undefined
    try {
      while (inflight.length < depth && next < total) submit()
      while (inflight.length > 0) {
        const job = inflight.shift() as (typeof inflight)[number]
        const r = await job.result
        // The slot yielded last time is now either wrapped by a tensor (tracked) or free again.
        if (current !== undefined) this.slotBusy[current] = false
        current = job.slot
        if (next < total) submit()
        this.skipped.push(...r.skipped)
        if (r.y.length > 0) yield { x: r.x, y: r.y, slot: job.slot }
      }
    } finally {
      if (current !== undefined) this.slotBusy[current] = false
      await Promise.allSettled(inflight.map((j) => j.result))
      for (const j of inflight) if (j.slot !== undefined) this.slotBusy[j.slot] = false
    }
  }

  /**
   * The batches of `epoch` as tensors: `x` [n, size, size, 3] float32 normalised, `y` [n] int32. The consumer
   * disposes both. See `arrays` for `startBatch`.
   */
  async *batches(epoch = 0, options: { startBatch?: number } = {}): AsyncGenerator<Batch> {
    const size = this.ctx.transform.size ?? 64
    for await (const { x, y, slot } of this.generate(epoch, options.startBatch ?? 0, true)) {
      const xt = tf.tensor4d(x, [y.length, size, size, 3], 'float32')
      if (slot !== undefined) this.slotUsers[slot] = { backend: tf.backend(), dataId: xt.dataId }
      yield { x: xt, y: tf.tensor1d(y, 'int32') }
    }
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await this.pool?.close()
  }
}

function prefetchDepth(options: LoaderOptions, pool: WorkerPool | undefined): number {
  return Math.max(1, options.prefetch ?? (pool ? 2 * pool.size : 2))
}

function transformOf(o: LoaderOptions): TransformOptions {
  return { size: o.size, augment: o.augment, flip: o.flip, padding: o.padding, scale: o.scale, ratio: o.ratio, mean: o.mean, std: o.std }
}

async function loadOrBuildCache(file: string, samples: Sample[], pool: WorkerPool | undefined, skipBad: boolean, verbose: boolean, skipped: { file: string; reason: string }[]): Promise<ReturnType<typeof readCache>> {
  const fingerprint = samplesFingerprint(samples, commonDir(samples))
  const header = readCacheHeader(file)
  if (typeof header !== 'string' && header.fingerprint === fingerprint) return readCache(file, fingerprint)
  if (verbose) console.error(`tiny-imagenet-data: building cache ${file} (${typeof header === 'string' ? header : 'different sample list'})`)
  const height = 64
  const width = 64
  const bytes = height * width * 3
  const paths = samples.map((s) => s.path)
  const chunk = 512
  const parts: Promise<{ pixels: Uint8Array; ok: Uint8Array; skipped: { file: string; reason: string }[] }>[] = []
  for (let start = 0; start < samples.length; start += chunk) {
    const indices = Int32Array.from({ length: Math.min(chunk, samples.length - start) }, (_, k) => start + k)
    if (pool) {
      parts.push(
        pool.send({ kind: 'decode', paths, indices, height, width, skipBad }).then((r) => {
          if (r.kind !== 'decode') throw new Error(`unexpected worker reply ${r.kind}`)
          return r
        }),
      )
    } else parts.push(Promise.resolve(runDecode(paths, indices, height, width, skipBad)))
  }
  const results = await Promise.all(parts)
  let count = 0
  for (const r of results) for (const ok of r.ok) count += ok
  const pixels = new Uint8Array(count * bytes)
  const labels = new Int32Array(count)
  let k = 0
  results.forEach((r, p) => {
    skipped.push(...r.skipped)
    r.ok.forEach((ok, j) => {
      if (!ok) return
      pixels.set(r.pixels.subarray(j * bytes, (j + 1) * bytes), k * bytes)
      labels[k++] = (samples[p * chunk + j] as Sample).label
    })
  })
  writeCache(file, { count, height, width, fingerprint }, labels, pixels)
  return readCache(file, fingerprint)
}

/**
 * `readSplit` + `TinyImageNetLoader.create` in one call.
 *
 * @example
 * ```ts
 * const val = await createTinyImageNetLoader('/data/tiny-imagenet-200', 'val', { batchSize: 256, shuffle: false })
 * ```
 */
export async function createTinyImageNetLoader(root: string, split: Split, options: LoaderOptions & ClassSelection): Promise<TinyImageNetLoader> {
  const listing = readSplit(root, split, { classes: options.classes, numClasses: options.numClasses, skipBad: options.skipBad })
  const loader = await TinyImageNetLoader.create(listing.samples, options)
  loader.skipped.unshift(...listing.skipped)
  return loader
}
