// Shared by the word-LM command tests: runs `pnpm wordlm …` (vite-node on main.ts) and the committed PyTorch reference
// (reference/main.py), and main.py's log-line formats.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { REPO_ROOT, SHARED_DATA } from '@tinylab/test-utils/paths'
import { DEBIAN_PYTHON } from '@tinylab/test-utils/torch'
import { expect } from 'vitest'

export const DATA = path.join(SHARED_DATA, 'wikitext-2')

/** A Transformer small enough that the vocabulary's 33,278-way softmax is most of a batch's work (lr 5, one epoch). */
export const SMALL_MODEL = ['--model', 'Transformer', '--emsize', '32', '--nhid', '32', '--nlayers', '1', '--lr', '5', '--epochs', '1']

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 3_600_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

/** `pnpm wordlm` as the root script runs it. */
export const WORDLM = [path.join(REPO_ROOT, 'node_modules/vite-node/vite-node.mjs'), '--config', 'vite.config.ts', 'examples/word-lm-generate/src/main.ts', '--']

export const wordlm = (args: string[]): Promise<RunResult> => run(process.execPath, [...WORDLM, ...args])

/** main.py itself, on 2 threads like our side. */
export const reference = (args: string[]): Promise<RunResult> => run(DEBIAN_PYTHON, ['examples/word-lm-generate/reference/main.py', ...args], { OMP_NUM_THREADS: '2' })

export const BATCH_LINE = /^\| epoch {3}1 \| {3}(\s*\d+)\/ 2983 batches \| lr 5\.00 \| ms\/batch [ \d]{2}\d+\.\d\d \| loss [ \d]\d\.\d\d \| ppl [ \d]{4}\d+\.\d\d$/
export const END_EPOCH = /^\| end of epoch {3}1 \| time: [ \d]{2}\d*\.\d\ds \| valid loss [ \d]\d\.\d\d \| valid ppl [ \d]{4}\d+\.\d\d$/
export const END_TRAINING = /^\| End of training \| test loss [ \d]\d\.\d\d \| test ppl [ \d]{4}\d+\.\d\d$/

/** The lines main.py prints for a one-epoch run: batch lines, the end-of-epoch block, the end-of-training block. */
export function logLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('|') || l.startsWith('---') || l.startsWith('==='))
}

/** Checks main.py's one-epoch log: `batches` batch lines, then the end-of-epoch and end-of-training blocks. */
export function expectOneEpochLog(lines: string[], batches: number): void {
  expect(lines).toHaveLength(batches + 6)
  for (const line of lines.slice(0, batches)) expect(line).toMatch(BATCH_LINE)
  const [rule1, endEpoch, rule2, double1, endTraining, double2] = lines.slice(batches)
  expect([rule1, rule2, double1, double2]).toEqual(['-'.repeat(89), '-'.repeat(89), '='.repeat(89), '='.repeat(89)])
  expect(endEpoch).toMatch(END_EPOCH)
  expect(endTraining).toMatch(END_TRAINING)
}

/**
 * A line's shape: numbers are right-aligned to a width, so their padding depends on the value (time: ' 8.12s' vs
 * '12.34s'); fold each number with its padding.
 */
export const shape = (line: string): string => line.replace(/ *[\d.]+/g, ' #')
