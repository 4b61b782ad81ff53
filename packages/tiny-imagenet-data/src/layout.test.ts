import { appendFileSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFixture } from '../test/_fixture'
import type { Fixture } from '../test/_fixture'
import { readClasses, readSplit } from './layout'

let fx: Fixture
const dirs: string[] = []
beforeAll(async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'tin-layout-'))
  dirs.push(d)
  fx = await makeFixture(path.join(d, 'tiny-imagenet-200'))
})
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function freshFixture(): Promise<Fixture> {
  const d = mkdtempSync(path.join(tmpdir(), 'tin-layout-'))
  dirs.push(d)
  return makeFixture(path.join(d, 'tiny-imagenet-200'), 2, 1, 1)
}

describe('readClasses', () => {
  it('labels wnids in sorted order (ImageFolder), with names from words.txt', () => {
    const c = readClasses(fx.root)
    // wnids.txt lists n09999999, n01000001, n05555555: sorted order decides the labels.
    expect(c.wnids).toEqual(['n01000001', 'n05555555', 'n09999999'])
    expect(c.names).toEqual(['aardvark', 'mug', 'zebra, striped horse'])
    expect(c.index.get('n09999999')).toBe(2)
  })

  it('restricts classes and remaps labels to 0..k-1 in sorted order', () => {
    expect(readClasses(fx.root, { classes: ['n09999999', 'n05555555'] }).wnids).toEqual(['n05555555', 'n09999999'])
    // numClasses takes the first k of wnids.txt (file order), then sorts.
    expect(readClasses(fx.root, { numClasses: 2 }).wnids).toEqual(['n01000001', 'n09999999'])
    expect(() => readClasses(fx.root, { classes: ['n12345678'] })).toThrow(/classes: n12345678 is not in .*wnids\.txt/)
    expect(() => readClasses(fx.root, { numClasses: 4 })).toThrow(/numClasses must be an integer in \[1, 3\], got 4/)
  })
})

describe('readSplit', () => {
  it('lists train per class in sorted file order with labels and boxes', () => {
    const { samples } = readSplit(fx.root, 'train')
    expect(samples.length).toBe(12)
    expect(samples.slice(0, 4).map((s) => [path.basename(s.path), s.label])).toEqual([
      ['n01000001_0.JPEG', 0],
      ['n01000001_1.JPEG', 0],
      ['n01000001_2.JPEG', 0],
      ['n01000001_3.JPEG', 0],
    ])
    expect(samples[5]?.box).toEqual([1, 2, 41, 51])
    expect(new Set(samples.map((s) => s.label))).toEqual(new Set([0, 1, 2]))
  })

  it('labels val from val_annotations.txt in place, and skips classes outside the selection', () => {
    const all = readSplit(fx.root, 'val')
    expect(all.samples.length).toBe(6)
    for (const s of all.samples) expect(all.classes.wnids[s.label]).toBe(fx.val.get(path.basename(s.path)))
    expect(all.samples[0]?.box).toEqual([0, 0, 60, 61])
    const two = readSplit(fx.root, 'val', { classes: ['n09999999', 'n05555555'] })
    expect(two.samples.map((s) => [s.wnid, s.label])).toEqual(
      all.samples.filter((s) => s.wnid !== 'n01000001').map((s) => [s.wnid, s.wnid === 'n05555555' ? 0 : 1]),
    )
  })

  it('lists test unlabelled in natural order', () => {
    expect(readSplit(fx.root, 'test').samples.map((s) => [path.basename(s.path), s.label])).toEqual([
      ['test_0.JPEG', -1],
      ['test_1.JPEG', -1],
      ['test_2.JPEG', -1],
    ])
  })

  it('names the file and line of an unknown wnid in the annotations', async () => {
    const f = await freshFixture()
    appendFileSync(path.join(f.root, 'val', 'val_annotations.txt'), 'val_0.JPEG\tn00000042\t1\t2\t3\t4\n')
    expect(() => readSplit(f.root, 'val')).toThrow(/val_annotations\.txt:4: unknown wnid n00000042 for val_0\.JPEG/)
  })

  it('names missing folders and files; skipBad counts missing files instead', async () => {
    const f = await freshFixture()
    expect(() => readSplit(path.join(f.root, 'nope'), 'train')).toThrow(/nope: dataset folder not found/)
    unlinkSync(path.join(f.root, 'val', 'images', 'val_1.JPEG'))
    expect(() => readSplit(f.root, 'val')).toThrow(/val_annotations\.txt:2: .*val_1\.JPEG not found/)
    const r = readSplit(f.root, 'val', { skipBad: true })
    expect(r.samples.length).toBe(2)
    expect(r.skipped.map((s) => path.basename(s.file))).toEqual(['val_1.JPEG'])
    rmSync(path.join(f.root, 'train', 'n05555555', 'images'), { recursive: true })
    expect(() => readSplit(f.root, 'train')).toThrow(/n05555555\/images: folder of class n05555555 not found/)
  })

  it('rejects malformed lines with file:line', async () => {
    const f = await freshFixture()
    writeFileSync(path.join(f.root, 'train', 'n01000001', 'n01000001_boxes.txt'), 'n01000001_0.JPEG\t1\t2\tx\t4\n')
    expect(() => readSplit(f.root, 'train')).toThrow(/n01000001_boxes\.txt:1: expected 4 integer box coordinates/)
    appendFileSync(path.join(f.root, 'val', 'val_annotations.txt'), 'val_0.JPEG\tn01000001\t0\t0\t1\t1\n')
    expect(() => readSplit(f.root, 'val')).toThrow(/val_annotations\.txt:4: val_0\.JPEG is annotated twice \(first on line 1\)/)
  })
})
