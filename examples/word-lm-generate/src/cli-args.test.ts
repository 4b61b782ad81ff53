import { describe, expect, it } from 'vitest'
import { helpText, parseFlags, UsageError } from '@tinylab/cli-flags'
import { GENERATE_FLAGS } from './generate'
import { TRAIN_FLAGS } from './main-train'

// main.py's argparse defaults (pytorch/examples word_language_model/main.py), typed in from the script.
const MAIN_PY_DEFAULTS: Record<string, string | number | boolean> = {
  data: './data/wikitext-2', model: 'LSTM', emsize: 200, nhid: 200, nlayers: 2, lr: 20, clip: 0.25, epochs: 40,
  batch_size: 20, bptt: 35, dropout: 0.2, tied: false, seed: 1111, log_interval: 200, save: 'model.pt', onnx_export: '',
  nhead: 2, dry_run: false,
}
const GENERATE_PY_DEFAULTS = { data: './data/wikitext-2', checkpoint: './model.pt', outf: 'generated.txt', words: 1000, seed: 1111, temperature: 1.0, log_interval: 100 }

describe('train flags', () => {
  it("have main.py's defaults", () => {
    const v: Record<string, unknown> = parseFlags([], TRAIN_FLAGS).values
    for (const [k, d] of Object.entries(MAIN_PY_DEFAULTS)) expect(v[k], k).toBe(d)
    expect(v.device).toBe('auto')
  })

  it('accept --batch_size and --batch-size, --flag=value and store_true flags', () => {
    expect(parseFlags(['--batch_size', '8'], TRAIN_FLAGS).values.batch_size).toBe(8)
    expect(parseFlags(['--batch-size=9', '--tied', '--dry-run'], TRAIN_FLAGS).values).toMatchObject({ batch_size: 9, tied: true, dry_run: true })
    expect(parseFlags(['--model', 'Transformer', '--lr', '5'], TRAIN_FLAGS).values).toMatchObject({ model: 'Transformer', lr: 5 })
  })

  it.each([
    [['--lr', 'fast'], "argument --lr: invalid float value: 'fast'"],
    [['--epochs', '1.5'], "argument --epochs: invalid int value: '1.5'"],
    [['--model', 'CNN'], "argument --model: invalid choice: 'CNN' (choose from 'LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU', 'Transformer', 'GCNN')"],
    [['--device', 'tpu'], "argument --device: invalid choice: 'tpu' (choose from 'auto', 'wasm', 'wasm+native', 'cpu', 'webgpu', 'tensorflow')"],
    [['--cuda'], 'unrecognized argument: --cuda'],
    [['--bptt'], 'argument --bptt: expected one argument'],
  ])('%j -> %s', (argv, message) => {
    expect(() => parseFlags(argv, TRAIN_FLAGS)).toThrow(UsageError)
    expect(() => parseFlags(argv, TRAIN_FLAGS)).toThrow(message)
  })

  it('help has one line per flag with its default', () => {
    const text = helpText('pnpm wordlm train [flags]', 'd', TRAIN_FLAGS)
    for (const f of Object.values(TRAIN_FLAGS)) {
      const name = f.names[0] as string
      const line = text.split('\n').find((l) => l.trimStart().startsWith(name + ' ') || l.trimStart().startsWith(name + ','))
      expect(line, name).toBeDefined()
      if (f.type !== 'bool') expect(line).toContain(`(default: ${f.default === '' ? "''" : String(f.default)})`)
    }
    expect(text).toContain('--batch_size, --batch-size BATCH_SIZE')
  })
})

describe('generate flags', () => {
  it("have generate.py's defaults", () => {
    const v: Record<string, unknown> = parseFlags([], GENERATE_FLAGS).values
    for (const [k, d] of Object.entries(GENERATE_PY_DEFAULTS)) expect(v[k], k).toBe(d)
  })
})
