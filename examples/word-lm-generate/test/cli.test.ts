// `pnpm wordlm train` / `generate` on real WikiText-2 with a small Transformer and a few batches, against the committed
// PyTorch reference script (reference/main.py) with the same flags: main.py's log lines, generation and flag errors.
// The commands are independent processes, so the suites run concurrently. The 200-batch run at the reference size,
// compared in perplexity, Ctrl-C, and `--devices 2` against one replica are in smoke.slow.test.ts (pnpm test:full).
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sharedDataSkipReason } from '@tinylab/test-utils/paths'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { DATA, SMALL_MODEL, expectOneEpochLog, logLines, reference, shape, wordlm } from './_cli'

const noData = sharedDataSkipReason('wikitext-2')
const noTorch = requireTorchOrSkipReason()
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

  it.skipIf(!!noData)('refuses --devices for the RNN models, naming the reason', async () => {
    const r = await wordlm(['train', '--data', DATA, '--model', 'LSTM', '--devices', '2'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('wordlm: error: argument --devices: 2 replicas need --model Transformer (the LSTM model carries its hidden state from batch to batch)')
  }, TIMEOUT)
})
