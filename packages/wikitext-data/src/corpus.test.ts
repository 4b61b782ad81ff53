import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Corpus, lineWords, readLines, tokenize } from './corpus'
import { Dictionary } from './dictionary'

function corpusDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'wikitext-'))
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), body)
  return dir
}

describe('Dictionary', () => {
  it('gives ids in order of first appearance', () => {
    const d = new Dictionary()
    expect(['b', 'a', 'b', 'c', 'a'].map((w) => d.addWord(w))).toEqual([0, 1, 0, 2, 1])
    expect(d.idx2word).toEqual(['b', 'a', 'c'])
    expect(d.length).toBe(3)
    expect(() => d.idOf('zzz')).toThrow(/not in dictionary: "zzz"/)
  })
})

describe('tokenize (data.py semantics)', () => {
  it('splits on Python whitespace and appends <eos> per line, empty lines included', () => {
    // U+00A0 and U+3000 separate words in Python's str.split(); U+FEFF does not (JS \s would split there).
    expect(lineWords(' a  b\tc\u00a0d\u3000e \n')).toEqual(['a', 'b', 'c', 'd', 'e', '<eos>'])
    expect(lineWords('x\ufeffy')).toEqual(['x\ufeffy', '<eos>'])
    expect(lineWords(' \n')).toEqual(['<eos>'])
  })

  it('reads lines like Python universal newlines: \\r\\n, \\r, no final newline', () => {
    const dir = corpusDir({ 'f.txt': 'a b\r\nc\rd\n\ne' })
    expect(readLines(path.join(dir, 'f.txt'))).toEqual(['a b', 'c', 'd', '', 'e'])
    const d = new Dictionary()
    expect(Array.from(tokenize(path.join(dir, 'f.txt'), d))).toEqual([0, 1, 2, 3, 2, 4, 2, 2, 5, 2])
    expect(d.idx2word).toEqual(['a', 'b', '<eos>', 'c', 'd', 'e'])
  })

  it('names the file for missing files and invalid UTF-8', () => {
    const dir = corpusDir({ 'bad.txt': Buffer.from([0x61, 0xff, 0x0a]) })
    expect(() => readLines(path.join(dir, 'bad.txt'))).toThrow(/bad\.txt: not valid UTF-8/)
    expect(() => readLines(path.join(dir, 'nope.txt'))).toThrow(/nope\.txt: file not found/)
    expect(() => new Corpus(path.join(dir, 'missing'))).toThrow(/missing: corpus folder not found/)
  })

  it('shares one dictionary across train, valid, test in that order', () => {
    const dir = corpusDir({ 'train.txt': ' = A = \n', 'valid.txt': ' B A \n', 'test.txt': ' C \n' })
    const c = new Corpus(dir)
    expect(c.dictionary.idx2word).toEqual(['=', 'A', '<eos>', 'B', 'C'])
    expect(Array.from(c.train)).toEqual([0, 1, 0, 2])
    expect(Array.from(c.valid)).toEqual([3, 1, 2])
    expect(Array.from(c.test)).toEqual([4, 2])
  })
})
