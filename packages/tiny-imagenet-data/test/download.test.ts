import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer } from '@tinylab/test-utils/http-server'
import { zipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { downloadTinyImageNet, readSplit } from '../src/index'
import type { DownloadProgress } from '@tinylab/dataset-download'
import { makeFixture } from './_fixture'

const tmp = mkdtempSync(path.join(tmpdir(), 'tin-dl-'))
let zip: Buffer
beforeAll(async () => {
  // A small archive in the official layout: tiny-imagenet-200/{wnids.txt, words.txt, train/…, val/…, test/…}
  const src = path.join(tmp, 'src', 'tiny-imagenet-200')
  await makeFixture(src, 3, 2, 2)
  const entries: Record<string, Uint8Array> = {}
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else entries[path.relative(path.join(tmp, 'src'), p)] = readFileSync(p)
    }
  }
  walk(src)
  zip = Buffer.from(zipSync(entries, { level: 0 }))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('downloadTinyImageNet (local HTTP server)', () => {
  it('resumes after dropped connections, reports progress, verifies md5, extracts atomically', async () => {
    const server = await startTestServer({ files: { '/tiny-imagenet-200.zip': zip }, dropAfterBytes: Math.floor(zip.length / 3), dropCount: 2 })
    try {
      const dir = path.join(tmp, 'a')
      const progress: DownloadProgress[] = []
      const md5 = createHash('md5').update(zip).digest('hex')
      const r = await downloadTinyImageNet({ dir, url: `${server.url}/tiny-imagenet-200.zip`, md5, sizeBytes: zip.length, onProgress: (p) => progress.push(p) })
      expect(r.cached).toBe(false)
      // Each retry asks for the bytes after those already on disk (how many survived the cut depends on buffering).
      const starts = server.requests.map((q) => (q.range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(q.range)?.[1])))
      expect(starts.length).toBe(3)
      expect(starts[1]).toBeGreaterThan(0)
      expect(starts[2]).toBeGreaterThan(starts[1] as number)
      expect(progress.at(-1)?.receivedBytes).toBe(zip.length)
      expect(readdirSync(dir)).toEqual(['tiny-imagenet-200'])
      expect(readSplit(r.root, 'train').samples.length).toBe(9)
      expect(readSplit(r.root, 'val').samples.length).toBe(6)
      expect((await downloadTinyImageNet({ dir, url: `${server.url}/tiny-imagenet-200.zip` })).cached).toBe(true)
      expect(server.requests.length).toBe(3)
    } finally {
      await server.close()
    }
  })

  it('refuses an archive with the wrong checksum and leaves no dataset folder behind', async () => {
    const server = await startTestServer({ files: { '/t.zip': zip } })
    try {
      const dir = path.join(tmp, 'b')
      await expect(downloadTinyImageNet({ dir, url: `${server.url}/t.zip`, md5: 'f'.repeat(32) })).rejects.toThrow(/md5 [0-9a-f]{32}, expected f{32}/)
      expect(existsSync(path.join(dir, 'tiny-imagenet-200'))).toBe(false)
    } finally {
      await server.close()
    }
  })

  it('extracts nothing from a broken archive (no half-written dataset)', async () => {
    const broken = Buffer.from(zip)
    broken.fill(0, Math.floor(broken.length / 2), Math.floor(broken.length / 2) + 4096)
    const server = await startTestServer({ files: { '/t.zip': broken } })
    try {
      const dir = path.join(tmp, 'c')
      await expect(downloadTinyImageNet({ dir, url: `${server.url}/t.zip` })).rejects.toThrow(/tiny-imagenet-200\.zip/)
      expect(existsSync(path.join(dir, 'tiny-imagenet-200'))).toBe(false)
      expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([])
      expect(statSync(path.join(dir, 'tiny-imagenet-200.zip')).size).toBe(broken.length)
    } finally {
      await server.close()
    }
  })
})
