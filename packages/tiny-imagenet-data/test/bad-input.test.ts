import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TinyImageNetLoader, readSplit } from '../src/index'
import { makeFixture, type Fixture } from './_fixture'

const tmp = mkdtempSync(path.join(tmpdir(), 'tin-bad-'))
let fx: Fixture
beforeAll(async () => {
  await initBackend({ device: 'cpu' })
  fx = await makeFixture(path.join(tmp, 'tiny-imagenet-200'), 4, 1, 1) // 12 train images, 4 per class
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('bad train images reach the consumer only (issue 19)', () => {
  it.each([0, 1, 2])('a truncated JPEG in a prefetched batch rejects the awaiting loop, never as an unhandled rejection (workers %i)', async (workers) => {
    const { samples } = readSplit(fx.root, 'train')
    // The last sample of batch 2 (of 3, no shuffle) is cut in half: with prefetch it fails while batch 0 is in use.
    const bad = samples[11]?.path as string
    const good = readFileSync(bad)
    writeFileSync(bad, good.subarray(0, good.length >> 1))
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown): void => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    const loader = await TinyImageNetLoader.create(samples, { batchSize: 4, shuffle: false, workers, prefetch: 3 })
    let seen = 0
    try {
      const loop = async (): Promise<void> => {
        for await (const { x, y } of loader.batches(0)) {
          // A slow training step: the failing batch settles meanwhile.
          await new Promise((r) => setTimeout(r, 300))
          tf.dispose([x, y])
          seen++
        }
      }
      await expect(loop()).rejects.toThrow(`${bad}: corrupt or truncated JPEG`)
      // Let any stray rejection surface before counting.
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await loader.close()
      writeFileSync(bad, good)
    }
    expect(seen).toBe(2)
    expect(unhandled).toEqual([])
  })
})

describe('empty class folders (issue 19)', () => {
  it('is an error naming the empty class, as torchvision ImageFolder raises "Found no valid file"', () => {
    const root = path.join(tmp, 'empty-class')
    rmSync(root, { recursive: true, force: true })
    // A copy of the fixture whose class n01000001 has no images left (one non-image file stays).
    cpSync(fx.root, root, { recursive: true })
    const images = path.join(root, 'train', 'n01000001', 'images')
    for (const f of readdirSync(images)) rmSync(path.join(images, f))
    writeFileSync(path.join(images, 'README'), 'not an image\n')
    expect(() => readSplit(root, 'train')).toThrow(`${images}: found no .JPEG file for the class n01000001`)
    // The classes that do have images can still be selected; skipBad lists the empty one instead of failing.
    expect(readSplit(root, 'train', { classes: ['n09999999'] }).samples).toHaveLength(4)
    const skipping = readSplit(root, 'train', { skipBad: true })
    expect(skipping.samples).toHaveLength(8)
    expect(skipping.skipped).toEqual([{ file: images, reason: 'class folder holds no .JPEG file' }])
  })
})
