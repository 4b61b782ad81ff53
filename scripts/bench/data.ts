/**
 * `pnpm bench data [--data DIR] [--workers N] [--batch-size N] [--batches N] [--augment none|random-crop|random-resized-crop]`
 *
 * Images/s of the Tiny-ImageNet loader (decode + augment + normalise + batch into tensors) from the JPEG files and
 * from the packed uint8 cache, on the cpu backend. Issue 4's goal: >= 4,000 img/s from JPEG, >= 20,000 from the
 * cache, and >= 10x the training throughput (ResNet-18 at 64 px trains at ~50-130 img/s on this kind of machine).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { SHARED_DATA } from '@tinylab/test-utils/paths'
import { TinyImageNetLoader, readSplit } from '@tinylab/tiny-imagenet-data'
import type { Augment, LoaderOptions } from '@tinylab/tiny-imagenet-data'

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback
}

interface Rate {
  imagesPerSecond: number
  /** Images per CPU-second of this process (all threads): independent of how busy the machine is. */
  imagesPerCpuSecond: number
  images: number
  seconds: number
}

async function epochRate(loader: TinyImageNetLoader, epoch: number, maxBatches: number): Promise<Rate> {
  let images = 0
  let batches = 0
  let t0 = 0
  let c0 = process.cpuUsage()
  for await (const { x, y } of loader.batches(epoch)) {
    // The first batch includes worker start-up and JIT warm-up: time from its arrival.
    if (batches === 0) {
      t0 = performance.now()
      c0 = process.cpuUsage()
    } else images += y.shape[0]
    tf.dispose([x, y])
    if (++batches >= maxBatches) break
  }
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  return { imagesPerSecond: images / seconds, imagesPerCpuSecond: images / ((cpu.user + cpu.system) / 1e6), images, seconds }
}

export async function run(args: string[]): Promise<void> {
  await tf.setBackend('cpu')
  const root = arg(args, '--data', path.join(SHARED_DATA, 'tiny-imagenet-200-subset'))
  const workers = Number(arg(args, '--workers', String(Math.min(availableParallelism(), 2))))
  const batchSize = Number(arg(args, '--batch-size', '256'))
  const maxBatches = Number(arg(args, '--batches', '1000000'))
  const augment = arg(args, '--augment', 'random-resized-crop') as Augment
  const { samples } = readSplit(root, 'train')
  const tmp = mkdtempSync(path.join(tmpdir(), 'bench-data-'))
  const options: LoaderOptions = { batchSize, workers, augment, flip: true, seed: 0 }
  try {
    const fromJpeg = await TinyImageNetLoader.create(samples, options)
    const jpeg = await epochRate(fromJpeg, 0, maxBatches)
    await fromJpeg.close()

    const cacheFile = path.join(tmp, 'train.cache')
    const t0 = performance.now()
    const cached = await TinyImageNetLoader.create(samples, { ...options, cache: cacheFile })
    const buildSeconds = (performance.now() - t0) / 1000
    await epochRate(cached, 0, 3)
    const cache = await epochRate(cached, 1, maxBatches)
    await cached.close()

    const trainingImagesPerSecond = 130 // upper end of ResNet-18 training here (issue 4); the goal is 10x that
    console.log(
      JSON.stringify({
        bench: 'data',
        images: samples.length,
        batchSize,
        workers,
        cpus: availableParallelism(),
        augment,
        flip: true,
        jpegImagesPerSecond: Math.round(jpeg.imagesPerSecond),
        cacheImagesPerSecond: Math.round(cache.imagesPerSecond),
        jpegImagesPerCpuSecond: Math.round(jpeg.imagesPerCpuSecond),
        cacheImagesPerCpuSecond: Math.round(cache.imagesPerCpuSecond),
        loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
        cacheBuildSeconds: Number(buildSeconds.toFixed(2)),
        jpegVsTraining: Number((jpeg.imagesPerSecond / trainingImagesPerSecond).toFixed(1)),
        goals: { jpeg: 4000, cache: 20000, jpegMet: jpeg.imagesPerSecond >= 4000, cacheMet: cache.imagesPerSecond >= 20000 },
      }),
    )
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
