import { mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IMAGENET_MEAN, IMAGENET_STD, TinyImageNetLoader, createTinyImageNetLoader, decodeJpeg, initJpegDecoder, readCacheHeader, readSplit } from '../src/index'
import type { LoaderOptions, Sample } from '../src/index'
import { makeFixture } from './_fixture'
import type { Fixture } from './_fixture'

let fx: Fixture
let samples: Sample[]
const tmp = mkdtempSync(path.join(tmpdir(), 'tin-loader-'))
beforeAll(async () => {
  await initBackend({ device: 'cpu' })
  await initJpegDecoder()
  fx = await makeFixture(path.join(tmp, 'tiny-imagenet-200'), 5, 2, 1) // 15 train images
  samples = readSplit(fx.root, 'train').samples
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

async function collect(loader: TinyImageNetLoader, epoch: number, startBatch = 0): Promise<{ x: Float32Array; y: Int32Array }[]> {
  const out: { x: Float32Array; y: Int32Array }[] = []
  for await (const { x, y } of loader.batches(epoch, { startBatch })) {
    // Copies: with the cpu backend dataSync() returns the tensor's own storage, a ring slot reused after dispose.
    out.push({ x: Float32Array.from(x.dataSync()), y: Int32Array.from(y.dataSync()) })
    tf.dispose([x, y])
  }
  return out
}

const aug: LoaderOptions = { batchSize: 4, augment: 'random-resized-crop', flip: true, seed: 11 }

describe('TinyImageNetLoader', () => {
  it('yields NHWC float32 / int32 batches of the right shapes without leaking tensors', async () => {
    const loader = await TinyImageNetLoader.create(samples, { ...aug, workers: 0 })
    expect(loader.numBatches).toBe(4)
    const before = tf.memory().numTensors
    const shapes: number[][] = []
    for await (const { x, y } of loader.batches(0)) {
      expect(x.dtype).toBe('float32')
      expect(y.dtype).toBe('int32')
      shapes.push([...x.shape, y.shape[0]])
      tf.dispose([x, y])
    }
    expect(shapes).toEqual([
      [4, 64, 64, 3, 4],
      [4, 64, 64, 3, 4],
      [4, 64, 64, 3, 4],
      [3, 64, 64, 3, 3],
    ])
    expect(tf.memory().numTensors).toBe(before)
    await loader.close()
  })

  it('unshuffled, unaugmented batches are the decoded pixels normalised with the ImageNet mean/std', async () => {
    const loader = await TinyImageNetLoader.create(samples, { batchSize: 15, shuffle: false, workers: 0 })
    const [batch] = await collect(loader, 0)
    expect(Array.from(batch?.y ?? [])).toEqual(samples.map((s) => s.label))
    const k = 6
    const img = decodeJpeg(readFileSync((samples[k] as Sample).path), 'k').data
    for (const i of [0, 1, 2, 3000, 12287]) {
      const c = i % 3
      expect(batch?.x[k * 12288 + i]).toBeCloseTo(((img[i] as number) / 255 - (IMAGENET_MEAN[c] as number)) / (IMAGENET_STD[c] as number), 5)
    }
    await loader.close()
  })

  it('recycles a batch slot only after every tensor using it is disposed (reshaped views included)', async () => {
    const loader = await TinyImageNetLoader.create(samples, { batchSize: 4, shuffle: false, workers: 1, prefetch: 1 })
    const kept: { view: tf.Tensor; copy: Float32Array }[] = []
    for await (const { x, y } of loader.batches(0)) {
      const view = x.reshape([-1]) // shares x's storage
      kept.push({ view, copy: Float32Array.from(view.dataSync()) })
      tf.dispose([x, y])
    }
    // Had a slot been reused while `view` lived, its values would now belong to a later batch.
    for (const k of kept) expect(Array.from(k.view.dataSync().subarray(0, 64))).toEqual(Array.from(k.copy.subarray(0, 64)))
    tf.dispose(kept.map((k) => k.view))
    const noReuse = await TinyImageNetLoader.create(samples, { batchSize: 4, shuffle: false, workers: 0, reuseMemory: false })
    const first = await noReuse.batches(0).next()
    const held = first.value?.x.dataSync() as Float32Array
    const snapshot = Float32Array.from(held)
    first.value && tf.dispose([first.value.x, first.value.y])
    for await (const b of noReuse.batches(0)) tf.dispose([b.x, b.y])
    expect(Array.from(held.subarray(0, 64))).toEqual(Array.from(snapshot.subarray(0, 64)))
    await Promise.all([loader.close(), noReuse.close()])
  })

  it('is deterministic for a seed, whatever the number of workers, and resumable mid-epoch', async () => {
    const main = await TinyImageNetLoader.create(samples, { ...aug, workers: 0 })
    const threaded = await TinyImageNetLoader.create(samples, { ...aug, workers: 2, prefetch: 3 })
    const a = await collect(main, 1)
    const b = await collect(threaded, 1)
    expect(b.length).toBe(a.length)
    a.forEach((batch, i) => {
      expect(Array.from(b[i]?.y ?? [])).toEqual(Array.from(batch.y))
      expect(Buffer.from((b[i] as { x: Float32Array }).x.buffer).equals(Buffer.from(batch.x.buffer))).toBe(true)
    })
    const resumed = await collect(threaded, 1, 2)
    expect(resumed.map((r) => Array.from(r.y))).toEqual(a.slice(2).map((r) => Array.from(r.y)))
    expect(Buffer.from((resumed[0] as { x: Float32Array }).x.buffer).equals(Buffer.from((a[2] as { x: Float32Array }).x.buffer))).toBe(true)
    // another epoch reorders; another seed too
    const otherEpoch = await collect(main, 2)
    expect(otherEpoch.map((r) => Array.from(r.y)).flat()).not.toEqual(a.map((r) => Array.from(r.y)).flat())
    const otherSeed = await TinyImageNetLoader.create(samples, { ...aug, seed: 12, workers: 0 })
    expect((await collect(otherSeed, 1))[0]?.x).not.toEqual(a[0]?.x)
    await Promise.all([main.close(), threaded.close(), otherSeed.close()])
  })

  it('builds a validated cache once, then reads pixels from it instead of the JPEGs', async () => {
    const cache = path.join(tmp, 'train.cache')
    const first = await TinyImageNetLoader.create(samples, { batchSize: 15, shuffle: false, workers: 2, cache })
    const header = readCacheHeader(cache)
    expect(typeof header === 'string' ? header : [header.count, header.height, header.width]).toEqual([15, 64, 64])
    const fromCache = await collect(first, 0)
    await first.close()
    const direct = await TinyImageNetLoader.create(samples, { batchSize: 15, shuffle: false, workers: 0 })
    const fromJpeg = await collect(direct, 0)
    await direct.close()
    expect(Buffer.from((fromCache[0] as { x: Float32Array }).x.buffer).equals(Buffer.from((fromJpeg[0] as { x: Float32Array }).x.buffer))).toBe(true)

    // Proof that pixels come from the cache: garble a JPEG (same size, so the fingerprint still matches).
    const garbled = (samples[4] as Sample).path
    const original = readFileSync(garbled)
    const fd = openSync(garbled, 'r+')
    writeSync(fd, Buffer.alloc(original.length - 10, 0x55), 0, original.length - 10, 5)
    closeSync(fd)
    const again = await TinyImageNetLoader.create(samples, { batchSize: 15, shuffle: false, workers: 1, cache })
    const cachedAgain = await collect(again, 0)
    await again.close()
    expect(Buffer.from((cachedAgain[0] as { x: Float32Array }).x.buffer).equals(Buffer.from((fromJpeg[0] as { x: Float32Array }).x.buffer))).toBe(true)
    writeFileSync(garbled, original)

    // A corrupt cache (wrong size) is rebuilt; a cache for another sample list is never used as is.
    writeFileSync(cache, readFileSync(cache).subarray(0, 1000))
    expect(readCacheHeader(cache)).toMatch(/train\.cache: 1000 bytes, header implies/)
    const rebuilt = await TinyImageNetLoader.create(samples, { batchSize: 15, shuffle: false, workers: 0, cache })
    expect(typeof readCacheHeader(cache)).toBe('object')
    await rebuilt.close()
    const fewer = await TinyImageNetLoader.create(samples.slice(0, 5), { batchSize: 5, shuffle: false, workers: 0, cache })
    expect(fewer.count).toBe(5)
    await fewer.close()
  })

  it('names a corrupt JPEG, or with skipBad skips and counts it (never a wrong label)', async () => {
    const root = path.join(tmp, 'bad')
    const f = await makeFixture(root, 2, 1, 1)
    const list = readSplit(f.root, 'train').samples
    const victim = (list[3] as Sample).path
    writeFileSync(victim, readFileSync(victim).subarray(0, 300))
    const strict = await TinyImageNetLoader.create(list, { batchSize: 6, shuffle: false, workers: 1 })
    await expect(collect(strict, 0)).rejects.toThrow(new RegExp(`${path.basename(victim)}: corrupt or truncated JPEG`))
    await strict.close()
    const lenient = await createTinyImageNetLoader(f.root, 'train', { batchSize: 6, shuffle: false, workers: 1, skipBad: true })
    const [batch] = await collect(lenient, 0)
    expect(lenient.skipped.map((s) => s.file)).toEqual([victim])
    expect(Array.from(batch?.y ?? [])).toEqual(list.filter((s) => s.path !== victim).map((s) => s.label))
    await lenient.close()
    unlinkSync(victim)
  })
})
