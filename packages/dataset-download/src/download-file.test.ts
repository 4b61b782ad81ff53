import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer } from '@tinylab/test-utils/http-server'
import { afterEach, describe, expect, it } from 'vitest'
import { downloadFile } from './download-file'
import type { DownloadProgress } from './download-file'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'dataset-dl-'))
  cleanups.push(() => rmSync(d, { recursive: true, force: true }))
  return d
}

describe('downloadFile (local HTTP server)', () => {
  it('resumes with Range requests after the server drops the connection, and verifies sha256', async () => {
    const body = Buffer.alloc(300_000, 0)
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) % 251
    const server = await startTestServer({ files: { '/big.bin': body }, dropAfterBytes: 100_000, dropCount: 2 })
    cleanups.push(() => server.close())
    const dest = path.join(tmp(), 'big.bin')
    const progress: DownloadProgress[] = []
    const r = await downloadFile({ url: `${server.url}/big.bin`, dest, sha256: sha256(body), onProgress: (p) => progress.push(p), progressIntervalMs: 0 })
    expect(readFileSync(dest).equals(body)).toBe(true)
    expect(r.resumed).toBe(2)
    // Each retry asks for the bytes after those already on disk (how many survived the cut depends on buffering).
    const starts = server.requests.map((q) => (q.range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(q.range)?.[1])))
    expect(starts.length).toBe(3)
    expect(starts[0]).toBe(0)
    expect(starts[1]).toBeGreaterThan(0)
    expect(starts[1]).toBeLessThanOrEqual(100_000)
    expect(starts[2]).toBeGreaterThan(starts[1] as number)
    expect(existsSync(`${dest}.part`)).toBe(false)
    const last = progress[progress.length - 1]
    expect(last?.receivedBytes).toBe(body.length)
    expect(last?.totalBytes).toBe(body.length)
    // A second run finds the verified file and fetches nothing.
    const again = await downloadFile({ url: `${server.url}/big.bin`, dest, sha256: sha256(body) })
    expect(again.cached).toBe(true)
    expect(server.requests.length).toBe(3)
  })

  it('resumes a .part file left by an earlier run, and restarts when the server ignores Range', async () => {
    const body = Buffer.from('0123456789'.repeat(1000))
    const dir = tmp()
    const ranged = await startTestServer({ files: { '/f': body } })
    cleanups.push(() => ranged.close())
    writeFileSync(path.join(dir, 'a.part'), body.subarray(0, 4321))
    await downloadFile({ url: `${ranged.url}/f`, dest: path.join(dir, 'a'), sizeBytes: body.length })
    expect(ranged.requests[0]?.range).toBe('bytes=4321-')
    expect(readFileSync(path.join(dir, 'a')).equals(body)).toBe(true)

    const plain = await startTestServer({ files: { '/f': body }, ranges: false })
    cleanups.push(() => plain.close())
    writeFileSync(path.join(dir, 'b.part'), Buffer.from('garbage that must not survive'))
    await downloadFile({ url: `${plain.url}/f`, dest: path.join(dir, 'b') })
    expect(readFileSync(path.join(dir, 'b')).equals(body)).toBe(true)
  })

  it('keeps the .part file when every retry is cut, so the next run resumes from it', async () => {
    const body = Buffer.alloc(200_000, 7)
    const server = await startTestServer({ files: { '/f': body }, dropAfterBytes: 50_000, dropCount: 2 })
    cleanups.push(() => server.close())
    const dest = path.join(tmp(), 'f')
    await expect(downloadFile({ url: `${server.url}/f`, dest, retries: 1 })).rejects.toThrow(/failed after 2 attempts \(partial file kept at .*f\.part/)
    expect(existsSync(dest)).toBe(false)
    const kept = readFileSync(`${dest}.part`).length
    expect(kept).toBeGreaterThan(0)
    await downloadFile({ url: `${server.url}/f`, dest, sizeBytes: body.length })
    expect(server.requests[2]?.range).toBe(`bytes=${kept}-`)
    expect(readFileSync(dest).equals(body)).toBe(true)
  })

  it('rejects a checksum mismatch, removes the bad file, and reports HTTP errors with the URL', async () => {
    const server = await startTestServer({ files: { '/f': Buffer.from('hello') } })
    cleanups.push(() => server.close())
    const dest = path.join(tmp(), 'f')
    await expect(downloadFile({ url: `${server.url}/f`, dest, sha256: '0'.repeat(64) })).rejects.toThrow(/sha256 2cf24dba.*expected 0000/)
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false)
    await expect(downloadFile({ url: `${server.url}/f`, dest, md5: 'f'.repeat(32) })).rejects.toThrow(/md5 5d41402a.*expected f{32}/)
    await expect(downloadFile({ url: `${server.url}/nope`, dest, retries: 0 })).rejects.toThrow(/HTTP 404 fetching http:\/\/127\.0\.0\.1:\d+\/nope/)
    await expect(downloadFile({ url: `${server.url}/f`, dest, sizeBytes: 6, retries: 0 })).rejects.toThrow(/server reports 5 bytes, expected 6/)
    await expect(downloadFile({ url: 'ftp://example.org/f', dest, retries: 0 })).rejects.toThrow(/unsupported URL scheme/)
  })
})
