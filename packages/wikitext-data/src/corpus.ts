import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Dictionary } from './dictionary'

/**
 * Python's `str.split()` with no argument splits on runs of Unicode whitespace; JS `\s` is a different set (it has
 * U+FEFF, it lacks U+001C..U+001F and U+0085), so the set is spelled out to give the same tokens as data.py.
 */
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/

/** The words of one line as data.py sees them: `line.split() + ['<eos>']`. */
export function lineWords(line: string): string[] {
  const words = line.split(PY_WHITESPACE).filter((w) => w.length > 0)
  words.push('<eos>')
  return words
}

/**
 * The lines Python's `for line in open(path, encoding="utf8")` yields: universal newlines (`\r\n` and `\r` become
 * `\n`), split after each `\n`; a file without a final newline still has its last line. Invalid UTF-8 is an error, as
 * in Python (no silent U+FFFD), and a BOM is kept as a character, as the "utf8" codec does.
 */
export function readLines(file: string): string[] {
  if (!existsSync(file)) throw new Error(`${file}: file not found`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(readFileSync(file))
  } catch (e) {
    throw new Error(`${file}: not valid UTF-8 (${(e as Error).message})`)
  }
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

/**
 * Token ids of `file`, adding new words to `dictionary` (data.py `Corpus.tokenize`: one `<eos>` per line).
 *
 * @example
 * ```ts
 * const ids = tokenize('/data/wikitext-2/valid.txt', new Dictionary())
 * ```
 */
export function tokenize(file: string, dictionary: Dictionary): Int32Array {
  const lines = readLines(file)
  let count = 0
  const perLine = lines.map((line) => {
    const words = lineWords(line)
    count += words.length
    return words
  })
  const ids = new Int32Array(count)
  let k = 0
  for (const words of perLine) for (const w of words) ids[k++] = dictionary.addWord(w)
  return ids
}

/**
 * The three splits of a word-level corpus folder (`train.txt`, `valid.txt`, `test.txt`) with one shared dictionary,
 * built in that order exactly like `Corpus` in pytorch/examples word_language_model/data.py.
 *
 * @example
 * ```ts
 * const corpus = new Corpus('/data/wikitext-2')
 * corpus.dictionary.length // 33278
 * corpus.train.length      // 2088628
 * ```
 */
export class Corpus {
  readonly dictionary = new Dictionary()
  readonly train: Int32Array
  readonly valid: Int32Array
  readonly test: Int32Array

  constructor(dir: string) {
    if (!existsSync(dir)) throw new Error(`${dir}: corpus folder not found (expected train.txt, valid.txt, test.txt)`)
    this.train = tokenize(path.join(dir, 'train.txt'), this.dictionary)
    this.valid = tokenize(path.join(dir, 'valid.txt'), this.dictionary)
    this.test = tokenize(path.join(dir, 'test.txt'), this.dictionary)
  }
}
