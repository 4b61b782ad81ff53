// `pnpm wordlm context-study --quick` end to end on a slice of WikiText-2 (the first lines of each split, so the
// vocabulary and the batches stay small), a few training batches per model: the report, plots, CSV and JSON are
// written, the GCNN's measured sensitivity is exactly zero from its receptive field on and the Transformer's is not,
// and --checkpoints reloads the three saved models to the same test losses. Slow file: two runs of three models.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { REPO_ROOT, SHARED_DATA, sharedDataSkipReason } from '@tinylab/test-utils/paths'
import { contextStudyMain } from '../src/context-study/main'
import type { StudyResults } from '../src/context-study/report'

const DATA = path.join(SHARED_DATA, 'wikitext-2')
const LINES = { 'train.txt': 300, 'valid.txt': 20, 'test.txt': 120 }
const FLAGS = ['--quick', '--max-batches', '4', '--eval-tokens', '1500', '--targets', '30', '--sensitivity-samples', '10', '--device', 'wasm']

function wordlm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const cli = [path.join(REPO_ROOT, 'node_modules/vite-node/vite-node.mjs'), '--config', 'vite.config.ts', 'examples/word-lm-generate/src/main.ts', '--', ...args]
    execFile(process.execPath, cli, { cwd: REPO_ROOT, timeout: 600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

describe.skipIf(!!sharedDataSkipReason('wikitext-2'))('pnpm wordlm context-study --quick', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'context-study-'))
  const data = path.join(dir, 'wikitext-2-slice')
  const out = path.join(dir, 'out')
  let run: Awaited<ReturnType<typeof wordlm>>
  let results: StudyResults

  beforeAll(async () => {
    mkdirSync(data)
    for (const [file, n] of Object.entries(LINES)) {
      writeFileSync(path.join(data, file), readFileSync(path.join(DATA, file), 'utf8').split('\n').slice(0, n).join('\n') + '\n')
    }
    run = await wordlm(['context-study', '--data', data, '--out', out, ...FLAGS])
    results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as StudyResults
  }, 600_000)

  it('writes the report, the plots, the CSV and JSON', () => {
    expect(run.code, run.stderr).toBe(0)
    const written = ['report.md', 'results.json', 'models.csv', 'loss_vs_context.csv', 'sensitivity.csv', 'loss_vs_context.svg', 'loss_vs_context.png', 'sensitivity_vs_distance.svg', 'sensitivity_vs_distance.png']
    expect(run.stdout.trim().split('\n')).toEqual(written.map((f) => `wrote ${path.join(out, f)}`))
    const report = readFileSync(path.join(out, 'report.md'), 'utf8')
    expect(report).toContain('**GCNN receptive field: 5 tokens**')
    expect(report).toMatch(/\| Transformer \| [\d,]+ \| [\d,]+ \| 32: /)
    expect(report).toContain('| model | k=1 | k=2 | k=4 | k=8 | k=16 | k=32 | full window |')
    expect(report).toContain('exactly 0')
    for (const plot of ['loss_vs_context', 'sensitivity_vs_distance']) {
      expect(readFileSync(path.join(out, `${plot}.png`)).subarray(1, 4).toString()).toBe('PNG')
      const svg = readFileSync(path.join(out, `${plot}.svg`), 'utf8')
      for (const name of ['Transformer', 'LSTM', 'GCNN', 'GCNN rf = 5']) expect(svg).toContain(`>${name}<`)
    }
    const lossCsv = readFileSync(path.join(out, 'loss_vs_context.csv'), 'utf8').trim().split('\n')
    expect(lossCsv[0]).toBe('model,k,full_window,loss,perplexity')
    expect(lossCsv).toHaveLength(1 + 3 * 7) // k = 1 … 32 and the full window, per model
    expect(readFileSync(path.join(out, 'sensitivity.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 3 * 32)
    expect(results.models.map((m) => [m.name, m.training?.batches, m.training?.tokens])).toEqual(['Transformer', 'LSTM', 'GCNN'].map((n) => [n, 4, 4 * 10 * 32]))
    for (const m of results.models) expect(m.timedTokensPerSecond, m.name).toBeGreaterThan(0)
    expect(report).toMatch(/\| Transformer \|.*\| \d+\.\d\d → \d+\.\d\d \| [\d,]+ \| [\d,]+ \|/)
  })

  it("measures the GCNN's sensitivity as exactly zero beyond its receptive field, and the Transformer's as non-zero", () => {
    const gcnn = results.models.find((m) => m.name === 'GCNN')!
    const transformer = results.models.find((m) => m.name === 'Transformer')!
    expect(gcnn.receptiveField).toBe(5)
    expect(gcnn.sensitivity.slice(0, 5).every((v) => v > 0)).toBe(true)
    expect(gcnn.sensitivity.slice(5)).toEqual(new Array(32 - 5).fill(0))
    expect(transformer.sensitivity.slice(5).every((v) => v > 0)).toBe(true)
  })

  it('--checkpoints reloads the saved models: same test losses, training record kept', async () => {
    const again = path.join(dir, 'again')
    expect(await contextStudyMain(['--data', data, '--out', again, '--checkpoints', path.join(out, 'checkpoints'), ...FLAGS])).toBe(0)
    const reloaded = JSON.parse(readFileSync(path.join(again, 'results.json'), 'utf8')) as StudyResults
    expect(reloaded.models.map((m) => m.testLoss)).toEqual(results.models.map((m) => m.testLoss))
    expect(reloaded.models.map((m) => m.training)).toEqual(results.models.map((m) => m.training))
  })

  it('a rerun into the same --out reuses the models trained there and trains none again', async () => {
    const checkpoint = (name: string) => path.join(out, 'checkpoints', `${name}.pt`)
    const written = ['Transformer', 'LSTM', 'GCNN'].map((name) => statSync(checkpoint(name)).mtimeMs)
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      expect(await contextStudyMain(['--data', data, '--out', out, ...FLAGS])).toBe(0)
      const lines = log.mock.calls.map((c) => String(c[0]))
      for (const name of ['Transformer', 'LSTM', 'GCNN']) expect(lines).toContain(`${name}: reusing ${checkpoint(name)} (4 batches, trained by an earlier run with these settings)`)
    } finally {
      log.mockRestore()
    }
    const rerun = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as StudyResults
    expect(rerun.models.map((m) => m.testLoss)).toEqual(results.models.map((m) => m.testLoss))
    expect(['Transformer', 'LSTM', 'GCNN'].map((name) => statSync(checkpoint(name)).mtimeMs)).toEqual(written)
  })
})
