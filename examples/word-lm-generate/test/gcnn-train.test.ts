// `pnpm wordlm train --model GCNN` and `generate` from its checkpoint, in process on a tiny generated corpus: main.py's
// log lines, a checkpoint that rebuilds the GCNN (kernel size included), and generated words from the vocabulary.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { GCNNModel, loadLanguageModel } from '@tinylab/transformer-lm'
import { generateMain } from '../src/generate'
import { trainMain } from '../src/main-train'

const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far']

function corpus(dir: string): void {
  const line = (i: number) => Array.from({ length: 12 }, (_, j) => WORDS[(i * 3 + j * j) % WORDS.length]).join(' ')
  for (const [file, n] of [['train.txt', 100], ['valid.txt', 30], ['test.txt', 30]] as const) {
    writeFileSync(path.join(dir, file), Array.from({ length: n }, (_, i) => line(i)).join('\n') + '\n')
  }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('pnpm wordlm train --model GCNN', () => {
  it("prints main.py's lines, saves a checkpoint that rebuilds the GCNN, and generate samples from it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wordlm-gcnn-'))
    corpus(dir)
    const save = path.join(dir, 'gcnn.pt')
    const lines: string[] = []
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)))
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const flags = ['--data', dir, '--model', 'GCNN', '--emsize', '8', '--nhid', '8', '--nlayers', '3', '--kernel-size', '2', '--lr', '5', '--epochs', '1']
    expect(await trainMain([...flags, '--batch_size', '4', '--bptt', '10', '--log-interval', '10', '--device', 'wasm', '--save', save])).toBe(0)
    expect(lines.filter((l) => l.startsWith('| epoch   1 |'))).toHaveLength(3) // batches 10, 20, 30 of 32
    expect(lines.find((l) => l.startsWith('| epoch   1 |    10/   32 batches | lr 5.00 | ms/batch'))).toBeDefined()
    expect(lines.some((l) => /^\| end of epoch {3}1 \| time: +[\d.]+s \| valid loss +[\d.]+ \| valid ppl +[\d.]+$/.test(l))).toBe(true)
    const end = lines.find((l) => l.startsWith('| End of training'))
    expect(end).toMatch(/^\| End of training \| test loss +[\d.]+ \| test ppl +[\d.]+$/)
    // 11 words (10 and <eos>): a model that learnt anything is well below the uniform ppl of 11.
    expect(Number(/test ppl +([\d.]+)/.exec(end!)![1])).toBeLessThan(11)

    const { model, args } = await loadLanguageModel(save)
    expect(model).toBeInstanceOf(GCNNModel)
    expect(args).toMatchObject({ model: 'GCNN', kernel_size: 2, nlayers: 3 })
    expect((model as GCNNModel).receptiveField).toBe(4)
    model.dispose()

    const outf = path.join(dir, 'generated.txt')
    lines.length = 0
    expect(await generateMain(['--data', dir, '--checkpoint', save, '--outf', outf, '--words', '20', '--log-interval', '10', '--device', 'wasm'])).toBe(0)
    expect(lines).toEqual(['| Generated 0/20 words', '| Generated 10/20 words'])
    const words = readFileSync(outf, 'utf8').trim().split(/\s+/)
    expect(words).toHaveLength(20)
    expect(words.every((w) => WORDS.includes(w) || w === '<eos>')).toBe(true)
  })
})
