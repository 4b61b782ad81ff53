import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeJpeg, ensureSyntheticDataset, initJpegDecoder, readClasses, readSplit } from '../src/index'

const tmp = mkdtempSync(path.join(tmpdir(), 'tin-synthetic-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const options = { classes: 3, trainPerClass: 4, valPerClass: 2, seed: 0 }

describe('ensureSyntheticDataset', () => {
  it('writes the real Tiny-ImageNet layout, which readSplit lists and the decoder reads', async () => {
    const root = await ensureSyntheticDataset(path.join(tmp, 'a'), options)
    expect(readClasses(root).wnids).toEqual(['n90000000', 'n90000001', 'n90000002'])
    const train = readSplit(root, 'train')
    const val = readSplit(root, 'val')
    expect(train.samples).toHaveLength(12)
    expect(val.samples).toHaveLength(6)
    expect(readSplit(root, 'test').samples).toHaveLength(3)
    // val labels come from val_annotations.txt, two images per class.
    expect(val.samples.map((s) => s.label).sort()).toEqual([0, 0, 1, 1, 2, 2])
    await initJpegDecoder()
    const img = decodeJpeg(readFileSync(train.samples[0]!.path), train.samples[0]!.path)
    expect([img.width, img.height]).toEqual([64, 64])
  })

  it('is deterministic for a seed, and reuses a complete folder instead of writing it again', async () => {
    const a = await ensureSyntheticDataset(path.join(tmp, 'a'), options)
    const b = await ensureSyntheticDataset(path.join(tmp, 'b'), options)
    const first = readSplit(a, 'val').samples[3]!.path
    expect(readFileSync(first)).toEqual(readFileSync(path.join(b, path.relative(a, first))))
    const before = statSync(path.join(a, 'wnids.txt')).mtimeMs
    await ensureSyntheticDataset(path.join(tmp, 'a'), { ...options, seed: 1 })
    expect(statSync(path.join(a, 'wnids.txt')).mtimeMs).toBe(before)
  })
})
