// Whole `pnpm resnet train` processes with bad images and Ctrl-C (issue 19): a corrupt image ends every run with one
// clean line and exit 1 whatever -j; SIGINT after step k saves at step k or k+1, and during validation abandons it;
// --resume then continues bit-identically.
import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadCheckpoint } from '@tinylab/checkpoint-io'
import { readScalarsJsonl } from '@tinylab/metrics-logger'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureSyntheticDataset } from '@tinylab/tiny-imagenet-data'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-interrupt-'))

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** `pnpm resnet …` as the root script runs it; `onStdout` sees the output so far each time more arrives. */
function resnet(args: string[], onStdout?: (stdout: string, child: ChildProcess) => void): Promise<Result> {
  const viteNode = path.join(REPO_ROOT, 'node_modules/.bin/vite-node')
  return new Promise((resolve) => {
    const child = spawn(viteNode, ['--config', 'vite.config.ts', 'examples/resnet-tiny-imagenet/src/main.ts', '--', ...args], { cwd: REPO_ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      onStdout?.(stdout, child)
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const runDirOf = (logdir: string): string => path.join(logdir, readdirSync(logdir)[0] as string)
const losses = (runDir: string): number[] =>
  readFileSync(path.join(runDir, 'steps.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { loss: number }).loss)

// A 1x1 PNG: what a renamed PNG in the training set looks like to the JPEG decoder.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')

describe('a bad image in train/ (issue 19)', () => {
  let data = ''
  beforeAll(async () => {
    data = await ensureSyntheticDataset(path.join(tmp, 'jpeg-data'), { classes: 3, trainPerClass: 12, valPerClass: 1, seed: 0 })
  }, 120_000)

  const variants: [string, (good: Buffer) => Buffer, number][] = [
    ['truncated JPEG', (good) => good.subarray(0, good.length >> 1), 10],
    ['zero-byte JPEG', () => Buffer.alloc(0), 1],
    ['PNG renamed .JPEG', () => PNG, 1],
  ]
  for (const [name, corrupt, runs] of variants) {
    it(`${name}: ${runs} run(s) with -j 2 all end with exit 1 and one line naming the file`, async () => {
      const root = path.join(tmp, name.replaceAll(' ', '-'))
      cpSync(data, root, { recursive: true })
      // A late image of the last class: its batch is usually prefetched while an earlier one trains.
      const bad = path.join(root, 'train', 'n90000002', 'images', 'n90000002_9.JPEG')
      writeFileSync(bad, corrupt(readFileSync(bad)))
      const args = ['train', root, '-b', '4', '--epochs', '1', '--device', 'wasm', '-j', '2', '--logdir', path.join(tmp, 'jpeg-runs')]
      const results: Result[] = []
      // Two at a time: each is mostly process start-up.
      for (let r = 0; r < runs; r += 2) results.push(...(await Promise.all(Array.from({ length: Math.min(2, runs - r) }, () => resnet(args)))))
      for (const res of results) {
        expect(res.code, res.stderr).toBe(1)
        const lines = res.stderr.split('\n').filter((l) => l.trim() !== '')
        expect(lines.length, res.stderr).toBeLessThanOrEqual(5)
        expect(lines.at(-1)).toMatch(new RegExp(`^resnet: error: ${bad.replaceAll('.', '\\.')}: (corrupt or truncated JPEG|not a JPEG file)`))
      }
    }, 1_800_000)
  }
})

describe('Ctrl-C (issue 19)', () => {
  let data = ''
  let whole = ''
  // 48 train images in batches of 4: 12 steps; 60 val images: 15 validation batches.
  const args = (logdir: string): string[] =>
    ['train', data, '-b', '4', '--epochs', '1', '--device', 'wasm', '-j', '0', '-p', '1', '--checkpoint-format', 'safetensors', '--logdir', logdir]
  beforeAll(async () => {
    data = await ensureSyntheticDataset(path.join(tmp, 'sigint-data'), { classes: 3, trainPerClass: 16, valPerClass: 20, seed: 0 })
    const r = await resnet(args(path.join(tmp, 'whole')))
    expect(r.code, r.stderr).toBe(0)
    whole = runDirOf(path.join(tmp, 'whole'))
  }, 600_000)

  it('after step 3 of 12 saves at step 3 or 4, and --resume continues bit-identically', async () => {
    const logdir = path.join(tmp, 'sigint-step')
    let sent = false
    // "Epoch: [0][2/12]" prints when the third step has finished.
    const first = await resnet(args(logdir), (out, child) => {
      if (!sent && out.includes('Epoch: [0][ 2/12]')) {
        sent = true
        child.kill('SIGINT')
      }
    })
    expect(sent).toBe(true)
    expect(first.code, first.stderr).toBe(130)
    const runDir = runDirOf(logdir)
    const saved = await loadCheckpoint(path.join(runDir, 'checkpoint.safetensors'))
    expect(saved.epoch).toBe(0)
    expect([3, 4]).toContain(saved.batch)
    expect(first.stdout).not.toContain('Test: [')

    const second = await resnet([...args(`${logdir}-resumed`), '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code, second.stderr).toBe(0)
    expect([...losses(runDir), ...losses(runDirOf(`${logdir}-resumed`))]).toEqual(losses(whole))
  }, 600_000)

  it('during validation abandons it, saves the finished epoch, and --resume validates again to the same result', async () => {
    const logdir = path.join(tmp, 'sigint-val')
    let sent = false
    const first = await resnet(args(logdir), (out, child) => {
      if (!sent && out.includes('Test: [ 1/15]')) {
        sent = true
        child.kill('SIGINT')
      }
    })
    expect(sent).toBe(true)
    expect(first.code, first.stderr).toBe(130)
    expect(first.stdout).toContain('=> interrupted during validation')
    expect(first.stdout).not.toContain('Test: [14/15]')
    const runDir = runDirOf(logdir)
    const saved = await loadCheckpoint(path.join(runDir, 'checkpoint.safetensors'))
    expect([saved.epoch, saved.batch]).toEqual([0, 12])

    const second = await resnet([...args(`${logdir}-resumed`), '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).not.toContain('Epoch: [0]')
    expect(losses(runDir)).toEqual(losses(whole))
    const scalars = (dir: string) => readScalarsJsonl(path.join(dir, 'scalars.jsonl')).filter((r) => r.tag.startsWith('scalar/')).map((r) => [r.tag, r.step, r.value])
    expect(scalars(runDirOf(`${logdir}-resumed`))).toEqual(scalars(whole))
  }, 600_000)
})
