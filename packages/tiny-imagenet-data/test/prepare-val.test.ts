import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prepareVal, readSplit } from '../src/index'
import { makeFixture } from './_fixture'
import type { Fixture } from './_fixture'

const tmp = mkdtempSync(path.join(tmpdir(), 'tin-prep-'))
let fx: Fixture
beforeAll(async () => {
  fx = await makeFixture(path.join(tmp, 'tiny-imagenet-200'), 1, 2, 1)
  // The dataset is often mounted read-only: prepareVal must only read it.
  for (const d of [path.join(fx.root, 'val', 'images'), path.join(fx.root, 'val')]) chmodSync(d, 0o555)
})
afterAll(() => {
  chmodSync(path.join(fx.root, 'val'), 0o755)
  chmodSync(path.join(fx.root, 'val', 'images'), 0o755)
  rmSync(tmp, { recursive: true, force: true })
})

describe('prepareVal', () => {
  it('writes <out>/<wnid>/images/<file> from val_annotations.txt with hard links, idempotently', async () => {
    const out = path.join(tmp, 'val-folder')
    const r = await prepareVal({ root: fx.root, out })
    expect(r).toEqual({ out, linked: 6, copied: 0, existing: 0 })
    for (const [file, wnid] of fx.val) {
      const dest = path.join(out, wnid, 'images', file)
      expect(statSync(dest).ino).toBe(statSync(path.join(fx.root, 'val', 'images', file)).ino)
    }
    expect(readdirSync(out).sort()).toEqual(['n01000001', 'n05555555', 'n09999999'])
    expect(await prepareVal({ root: fx.root, out })).toEqual({ out, linked: 0, copied: 0, existing: 6 })
    // The result is an ImageFolder tree: train-style listing of it gives the same labels as the annotations.
    const labels = new Map(readSplit(fx.root, 'val').samples.map((s) => [path.basename(s.path), s.wnid]))
    for (const wnid of readdirSync(out)) for (const f of readdirSync(path.join(out, wnid, 'images'))) expect(labels.get(f)).toBe(wnid)
  })

  it('copies when asked (or when links are refused), and honours a class selection', async () => {
    const out = path.join(tmp, 'val-copy')
    const r = await prepareVal({ root: fx.root, out, mode: 'copy', classes: ['n05555555'] })
    expect(r.copied).toBe(2)
    expect(readdirSync(out)).toEqual(['n05555555'])
    const [f] = readdirSync(path.join(out, 'n05555555', 'images'))
    expect(statSync(path.join(out, 'n05555555', 'images', f as string)).ino).not.toBe(statSync(path.join(fx.root, 'val', 'images', f as string)).ino)
  })
})
