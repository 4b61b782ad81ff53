import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer } from '@tinylab/test-utils/http-server'
import { strToU8, zipSync } from 'fflate'
import { afterEach, describe, expect, it } from 'vitest'
import { Corpus, downloadWikiText } from '../src/index'

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
})
