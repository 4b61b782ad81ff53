import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hashFile } from './hash-file'

const dir = mkdtempSync(path.join(tmpdir(), 'dataset-hash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// coreutils' sha256sum/md5sum are the reference: an implementation independent of node:crypto.
const coreutils = (tool: string, file: string): string => execFileSync(tool, [file], { encoding: 'utf8' }).split(' ')[0] ?? ''

describe('hashFile', () => {
  it('matches sha256sum and md5sum on a file larger than one read chunk', async () => {
    const file = path.join(dir, 'data.bin')
    const body = Buffer.alloc(3 * 65_536 + 123)
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 8)) & 0xff
    writeFileSync(file, body)
    expect(await hashFile(file)).toEqual({ sha256: coreutils('sha256sum', file), md5: coreutils('md5sum', file) })
  })

  it('hashes an empty file to the well-known empty digests', async () => {
    const file = path.join(dir, 'empty')
    writeFileSync(file, '')
    expect(await hashFile(file)).toEqual({ sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', md5: 'd41d8cd98f00b204e9800998ecf8427e' })
  })

  it('names the file when it does not exist', async () => {
    await expect(hashFile(path.join(dir, 'missing'))).rejects.toThrow(/missing/)
  })
})
