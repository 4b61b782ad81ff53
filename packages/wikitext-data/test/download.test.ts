import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer } from '@tinylab/test-utils/http-server'
import { strToU8, zipSync } from 'fflate'
import { afterEach, describe, expect, it } from 'vitest'
import { Corpus, downloadFile, downloadWikiText, extractZipAtomic } from '../src/index'
import type { DownloadProgress } from '../src/index'

// A dozen lines in WikiText's own format: " = Title = ", blank lines, " @-@ " joins.
const SAMPLE = {
  train: ' \n = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 : <unk> Chronicles \n The game began development in 2010 @-@ 11 . \n',
  valid: ' \n = Homarus gammarus = \n \n Homarus gammarus is a species of lobster . \n',
  test: ' \n = Robert Boulter = \n \n Robert Boulter is an English film actor . \n',
}
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'wikitext-dl-'))
  cleanups.push(() => rmSync(d, { recursive: true, force: true }))
  return d
}

describe('downloadFile', () => {
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

  it('rejects a checksum mismatch, removes the bad file, and reports HTTP errors with the URL', async () => {
    const server = await startTestServer({ files: { '/f': Buffer.from('hello') } })
    cleanups.push(() => server.close())
    const dest = path.join(tmp(), 'f')
    await expect(downloadFile({ url: `${server.url}/f`, dest, sha256: '0'.repeat(64) })).rejects.toThrow(/sha256 2cf24dba.*expected 0000/)
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false)
    await expect(downloadFile({ url: `${server.url}/nope`, dest, retries: 0 })).rejects.toThrow(/HTTP 404 fetching http:\/\/127\.0\.0\.1:\d+\/nope/)
    await expect(downloadFile({ url: `${server.url}/f`, dest, sizeBytes: 6, retries: 0 })).rejects.toThrow(/server reports 5 bytes, expected 6/)
  })
})

describe('downloadWikiText', () => {
  it('fetches the three raw files (resuming a dropped one) into a folder Corpus reads', async () => {
    const files = Object.fromEntries(Object.entries(SAMPLE).map(([k, v]) => [`/wt2/${k}.txt`, Buffer.from(v)]))
    const server = await startTestServer({ files, dropAfterBytes: 40, dropCount: 1 })
    cleanups.push(() => server.close())
    const dir = path.join(tmp(), 'wikitext-2')
    const r = await downloadWikiText({ dir, url: `${server.url}/wt2` })
    expect(r.cached).toBe(false)
    const c = new Corpus(dir)
    expect(c.dictionary.idx2word.slice(0, 3)).toEqual(['<eos>', '=', 'Valkyria'])
    // lines: blank, title (5 words), blank, 7 words, 9 words; one <eos> each
    expect(c.train.length).toBe(1 + 6 + 1 + 8 + 10)
    expect((await downloadWikiText({ dir, url: `${server.url}/wt2` })).cached).toBe(true)
  })

  it('extracts the official zip layout (wikitext-2/wiki.*.tokens) atomically and renames to *.txt', async () => {
    const zip = Buffer.from(
      zipSync({
        'wikitext-2/': {},
        'wikitext-2/wiki.train.tokens': strToU8(SAMPLE.train),
        'wikitext-2/wiki.valid.tokens': strToU8(SAMPLE.valid),
        'wikitext-2/wiki.test.tokens': strToU8(SAMPLE.test),
      }),
    )
    const server = await startTestServer({ files: { '/wikitext-2-v1.zip': zip } })
    cleanups.push(() => server.close())
    const parent = tmp()
    const dir = path.join(parent, 'wikitext-2')
    await downloadWikiText({ dir, url: `${server.url}/wikitext-2-v1.zip`, sha256: sha256(zip) })
    expect(readdirSync(dir).sort()).toEqual(['test.txt', 'train.txt', 'valid.txt'])
    expect(readFileSync(path.join(dir, 'valid.txt'), 'utf8')).toBe(SAMPLE.valid)
    expect(readdirSync(parent)).toEqual(['wikitext-2'])
  })

  it('refuses zip entries that escape the target folder', async () => {
    const dir = tmp()
    const zipPath = path.join(dir, 'evil.zip')
    writeFileSync(zipPath, zipSync({ '../evil.txt': strToU8('x') }))
    await expect(extractZipAtomic(zipPath, path.join(dir, 'out'))).rejects.toThrow(/evil\.zip: .*\.\.\/evil\.txt/)
    expect(readdirSync(dir)).toEqual(['evil.zip'])
  })
})
