import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { strToU8, zipSync } from 'fflate'
import { afterEach, describe, expect, it } from 'vitest'
import { extractZipAtomic } from './extract-zip'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'dataset-zip-'))
  cleanups.push(() => rmSync(d, { recursive: true, force: true }))
  return d
}

describe('extractZipAtomic', () => {
  it('makes a single top-level folder the destination, and skips an existing destination', async () => {
    const dir = tmp()
    const zipPath = path.join(dir, 'a.zip')
    writeFileSync(zipPath, zipSync({ 'top/': {}, 'top/x.txt': strToU8('x'), 'top/sub/y.txt': strToU8('yy') }))
    const r = await extractZipAtomic(zipPath, path.join(dir, 'out'))
    expect(r).toEqual({ dir: path.join(dir, 'out'), files: 2, existed: false })
    expect(readFileSync(path.join(dir, 'out', 'sub', 'y.txt'), 'utf8')).toBe('yy')
    expect(readdirSync(dir).sort()).toEqual(['a.zip', 'out'])
    expect((await extractZipAtomic(zipPath, path.join(dir, 'out'))).existed).toBe(true)
  })

  it('keeps several top-level entries as they are', async () => {
    const dir = tmp()
    const zipPath = path.join(dir, 'b.zip')
    writeFileSync(zipPath, zipSync({ 'train.txt': strToU8('t'), 'valid.txt': strToU8('v') }))
    await extractZipAtomic(zipPath, path.join(dir, 'out'))
    expect(readdirSync(path.join(dir, 'out')).sort()).toEqual(['train.txt', 'valid.txt'])
  })

  it('refuses zip entries that escape the target folder', async () => {
    const dir = tmp()
    const zipPath = path.join(dir, 'evil.zip')
    writeFileSync(zipPath, zipSync({ '../evil.txt': strToU8('x') }))
    await expect(extractZipAtomic(zipPath, path.join(dir, 'out'))).rejects.toThrow(/evil\.zip: .*\.\.\/evil\.txt/)
    expect(readdirSync(dir)).toEqual(['evil.zip'])
  })

  it('leaves neither the destination nor a temporary folder behind when the archive is damaged', async () => {
    const dir = tmp()
    const zipPath = path.join(dir, 'broken.zip')
    const files: Record<string, Uint8Array> = {}
    for (let i = 0; i < 20; i++) files[`d/f${i}.bin`] = new Uint8Array(2048).fill(i)
    const zip = Buffer.from(zipSync(files, { level: 0 }))
    zip.fill(0, Math.floor(zip.length / 2), Math.floor(zip.length / 2) + 4096)
    writeFileSync(zipPath, zip)
    await expect(extractZipAtomic(zipPath, path.join(dir, 'out'))).rejects.toThrow(/broken\.zip/)
    expect(existsSync(path.join(dir, 'out'))).toBe(false)
    expect(readdirSync(dir)).toEqual(['broken.zip'])
  })
})
