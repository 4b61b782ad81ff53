// Bad input to `pnpm wordlm train`, in-process on a 3-line corpus (issue 19): each fails before training, with one
// message naming the path, the file or the flag.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { UsageError } from '@tinylab/cli-flags'
import { trainMain } from '../src/main-train'

const tmp = mkdtempSync(path.join(tmpdir(), 'wordlm-bad-'))
const corpus = path.join(tmp, 'corpus')
const tiny = ['--data', corpus, '--device', 'cpu', '--model', 'GRU', '--emsize', '4', '--nhid', '4', '--nlayers', '1', '--epochs', '1', '--batch_size', '2', '--bptt', '3']
const LINE = 'the cat sat on the mat and the dog sat on the log\n'

beforeAll(() => {
  mkdirSync(corpus)
  for (const split of ['train', 'valid', 'test']) writeFileSync(path.join(corpus, `${split}.txt`), LINE.repeat(3))
})

describe('pnpm wordlm train: outputs checked before the first epoch (issue 19)', () => {
  it('a --save under a file is refused up front, naming the path and the reason', async () => {
    const file = path.join(tmp, 'a-file')
    writeFileSync(file, 'x')
    const save = path.join(file, 'model.pt')
    await expect(trainMain([...tiny, '--save', save])).rejects.toThrow(`${path.dirname(save)}: cannot create the folder for --save: ${file} is a file, not a folder`)
  })

  it('a --save naming a folder, or without a format, is refused up front', async () => {
    const folder = path.join(tmp, 'folder.pt')
    mkdirSync(folder)
    await expect(trainMain([...tiny, '--save', folder])).rejects.toThrow(`${folder}: --save names a folder, expected a file path`)
    const error = await trainMain([...tiny, '--save', path.join(tmp, 'model')]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as Error).message).toBe(`argument --save: ${path.join(tmp, 'model')}: cannot tell the checkpoint format from the extension (use .safetensors or .pth/.pth.tar/.pt)`)
  })
})

describe('pnpm wordlm train: corpus too small (issue 19)', () => {
  it('an empty train.txt is an error naming the file', async () => {
    const empty = path.join(tmp, 'empty-train')
    mkdirSync(empty)
    writeFileSync(path.join(empty, 'train.txt'), '')
    for (const split of ['valid', 'test']) writeFileSync(path.join(empty, `${split}.txt`), LINE.repeat(3))
    const args = tiny.map((a) => (a === corpus ? empty : a))
    await expect(trainMain([...args, '--save', path.join(tmp, 'm.pt')])).rejects.toThrow(`${path.join(empty, 'train.txt')}: 0 tokens, too few for --batch_size 2 (needs at least 4: two rows of 2 columns)`)
  })
})
