// `pnpm wordlm train` / `generate` on real WikiText-2 with a small Transformer and a few batches, against the committed
// PyTorch reference script (reference/main.py) with the same flags: main.py's log lines, generation, flag errors and
// data parallelism, in seconds. The commands are independent processes, so the suites run concurrently. The 200-batch
// run at the reference size, compared in perplexity, and the Ctrl-C test are in smoke.slow.test.ts (pnpm test:full).
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sharedDataSkipReason } from '@tinylab/test-utils/paths'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { BATCH_LINE, DATA, END_EPOCH, END_TRAINING, expectOneEpochLog, logLines, reference, shape, wordlm } from './_cli'

const noData = sharedDataSkipReason('wikitext-2')
const noTorch = requireTorchOrSkipReason()
// Small enough that the vocabulary's 33,278-way softmax is most of the work.
const SMALL_MODEL = ['--model', 'Transformer', '--emsize', '32', '--nhid', '32', '--nlayers', '1', '--lr', '5', '--epochs', '1']
// Batches 0..4, logged at 2 and 4.
const SMALL = [...SMALL_MODEL, '--max-batches', '4', '--log-interval', '2']
// Seconds each on an idle machine; the limit only catches a hung command on a busy one.
const TIMEOUT = 600_000

describe.skipIf(!!noData).concurrent('pnpm wordlm train/generate, small Transformer, 4 batches', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wordlm-cli-'))
  const save = path.join(dir, 'model.pt')

  it.skipIf(!!noTorch).sequential("prints main.py's lines, in the shapes main.py prints them with the same flags", async () => {
    // --device auto: wasm plus the native kernels where @tinylab/native-cpu is built (CI builds it), as a user gets it.
    const [ours, ref] = await Promise.all([
      wordlm(['train', '--data', DATA, ...SMALL, '--device', 'auto', '--save', save]),
      reference(['--data', DATA, ...SMALL, '--save', path.join(dir, 'ref.pt')]),
    ])
    expect(ref.code, ref.stderr).toBe(0)
    expect(ours.code, ours.stderr).toBe(0)
    const lines = logLines(ours.stdout)
    expectOneEpochLog(lines, 2)
    expect(ref.stdout.split('\n').filter((l) => l.startsWith('|')).map(shape)).toEqual(lines.filter((l) => l.startsWith('|')).map(shape))
  }, TIMEOUT)

  it.sequential('generate writes 20 words per line and reports progress from the saved model', async () => {
    if (noTorch) expect((await wordlm(['train', '--data', DATA, ...SMALL, '--device', 'wasm', '--save', save])).code).toBe(0)
    const outf = path.join(dir, 'generated.txt')
    const r = await wordlm(['generate', '--data', DATA, '--checkpoint', save, '--outf', outf, '--words', '40', '--log-interval', '20', '--device', 'wasm'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter((l) => l.startsWith('| Generated'))).toEqual(['| Generated 0/40 words', '| Generated 20/40 words'])
    const lines = readFileSync(outf, 'utf8').split('\n')
    expect(lines).toHaveLength(3) // two full lines and the empty string after the last newline
    expect(lines.slice(0, 2).map((l) => l.trim().split(' ').length)).toEqual([20, 20])
    const vocab = new Set(readFileSync(path.join(DATA, 'train.txt'), 'utf8').split(/\s+/))
    expect(lines[0]!.trim().split(' ').every((w) => vocab.has(w) || w === '<eos>')).toBe(true)
  }, TIMEOUT)
})

describe.concurrent('pnpm wordlm: command-line errors', () => {
  it('a bad flag value exits 2 with the flag, the value and the choices, without a stack', async () => {
    const r = await wordlm(['train', '--model', 'CNN'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("wordlm: error: argument --model: invalid choice: 'CNN' (choose from 'LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU', 'Transformer', 'GCNN')")
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }, TIMEOUT)
})

describe.skipIf(!!noData).concurrent('pnpm wordlm train --devices 2 (data parallel)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wordlm-dp-'))
  const flags = ['train', '--data', DATA, ...SMALL_MODEL, '--max-batches', '8', '--log-interval', '4', '--device', 'wasm']
  const lossesOf = (stdout: string): number[] => [...stdout.matchAll(/\| (?:valid |test )?loss\s+([\d.]+)/g)].map((m) => Number(m[1]))

  // Exact equivalence with one replica is tested in replica.test.ts (dropout off); here the dropout masks differ
  // (each replica draws its own), so the run is checked for main.py's lines and losses close to one replica's.
  it("trains with main.py's lines and losses within 10% of one replica's", async () => {
    const [one, two] = await Promise.all([wordlm([...flags, '--save', path.join(dir, 'one.pt')]), wordlm([...flags, '--devices', '2', '--save', path.join(dir, 'two.pt')])])
    expect(one.code, one.stderr).toBe(0)
    expect(two.code, two.stderr).toBe(0)
    expect(two.stderr).toContain('data parallel: 2 replicas on wasm')
    const lines = two.stdout.split('\n').filter((l) => l.startsWith('|'))
    expect(lines).toHaveLength(4) // batches 4 and 8, end of epoch, end of training
    expect(lines[0]).toMatch(BATCH_LINE)
    expect(lines[2]).toMatch(END_EPOCH)
    expect(lines[3]).toMatch(END_TRAINING)
    const [a, b] = [lossesOf(one.stdout), lossesOf(two.stdout)]
    expect(b).toHaveLength(4)
    b.forEach((loss, i) => expect(Math.abs(loss - (a[i] as number)) / (a[i] as number)).toBeLessThanOrEqual(0.1))
  }, TIMEOUT)

  it('refuses --devices for the RNN models, naming the reason', async () => {
    const r = await wordlm(['train', '--data', DATA, '--model', 'LSTM', '--devices', '2'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('wordlm: error: argument --devices: 2 replicas need --model Transformer (the LSTM model carries its hidden state from batch to batch)')
  }, TIMEOUT)
})
