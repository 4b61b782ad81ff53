// Interrupting `pnpm resnet train` (Ctrl-C, SIGKILL) and resuming, on one thread and with --devices 2: every resumed run
// must log the uninterrupted run's losses step for step. Ten training processes, so pnpm test:full only;
// train-command.test.ts runs the uninterrupted command and its outputs in the fast suite.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadCheckpoint } from '@tinylab/checkpoint-io'
import { readScalarsJsonl } from '@tinylab/metrics-logger'
import { beforeAll, describe, expect, it } from 'vitest'
import { readSteps, resnet, runDirOf, smoke, type Result, type StepRow } from './_train-cli'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-resume-'))

/** Losses by "epoch/batch"; a step logged twice (re-done after a kill) keeps its last value. */
function lossesByStep(rows: StepRow[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.epoch}/${r.batch}`, r.loss]))
}

function stepsSoFar(logdir: string): StepRow[] {
  if (!existsSync(logdir)) return []
  const dirs = readdirSync(logdir).filter((d) => d.endsWith('_resnet18'))
  return dirs.length === 1 ? readSteps(path.join(logdir, dirs[0] as string)) : []
}

describe('pnpm resnet train interrupted and resumed (subset, wasm)', () => {
  // The uninterrupted run every resumed one is compared with (train-command.test.ts checks its outputs).
  const logA = path.join(tmp, 'a')
  let runA: Result

  beforeAll(async () => {
    runA = await resnet(smoke(logA))
  }, 600_000)

  it('Ctrl-C mid-epoch saves the position; --resume continues with step-for-step identical losses', async () => {
    expect(runA?.code).toBe(0)
    const logB = path.join(tmp, 'b')
    let sent = false
    const first = await resnet(smoke(logB), (child) => {
      if (!sent && stepsSoFar(logB).length >= 1) {
        sent = true
        child.kill('SIGINT')
      }
    })
    expect(first.stderr).toContain('Ctrl-C: finishing the current step')
    expect(first.code).toBe(130)
    const runDir = runDirOf(logB)
    const saved = await loadCheckpoint(path.join(runDir, 'checkpoint.safetensors'))
    const stepsBefore = readSteps(runDir).length
    expect(stepsBefore).toBeLessThan(6)
    expect(saved.epoch === 0 ? saved.batch : 3 * (saved.epoch as number)).toBe(stepsBefore)

    // The resumed run writes a new run folder under its --logdir and records where it came from.
    const second = await resnet([...smoke(`${logB}-resumed`), '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code).toBe(0)
    const resumedDir = runDirOf(`${logB}-resumed`)
    expect(JSON.parse(readFileSync(path.join(resumedDir, 'hparams.json'), 'utf8')).resumedFrom).toBe(path.resolve(runDir, 'checkpoint.safetensors'))
    const rowsB = [...readSteps(runDir), ...readSteps(resumedDir)]
    const a = lossesByStep(readSteps(runDirOf(logA)))
    const b = lossesByStep(rowsB)
    expect(rowsB).toHaveLength(6) // nothing re-done: the save was after a finished step
    expect([...b.entries()]).toEqual([...a.entries()])
    // Epoch averages (meters restored mid-epoch) and validation equal the uninterrupted run's.
    const scalarsA = readScalarsJsonl(path.join(runDirOf(logA), 'scalars.jsonl'))
    const scalarsB = [runDir, resumedDir].flatMap((d) => (existsSync(path.join(d, 'scalars.jsonl')) ? readScalarsJsonl(path.join(d, 'scalars.jsonl')) : []))
    const pick = (rows: typeof scalarsA) => rows.filter((r) => r.tag.startsWith('scalar/')).map((r) => [r.tag, r.step, r.value])
    expect(pick(scalarsB)).toEqual(pick(scalarsA))
  }, 600_000)

  it('after SIGKILL, --resume from the last checkpoint re-does the lost steps identically', async () => {
    expect(runA?.code).toBe(0)
    const logC = path.join(tmp, 'c')
    let killed = false
    const first = await resnet(smoke(logC), (child) => {
      if (!killed && stepsSoFar(logC).some((s) => s.epoch === 1)) {
        killed = true
        child.kill('SIGKILL')
      }
    })
    expect(first.signal).toBe('SIGKILL')
    const runDir = runDirOf(logC)
    const second = await resnet([...smoke(`${logC}-resumed`), '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('(epoch 1, best acc@1')
    const rows = [...readSteps(runDir), ...readSteps(runDirOf(`${logC}-resumed`))]
    expect(rows.length).toBeGreaterThan(6) // epoch 1's first step(s) ran twice
    expect([...lossesByStep(rows).entries()]).toEqual([...lossesByStep(readSteps(runDirOf(logA))).entries()])
  }, 600_000)

  it('--devices 2: two replicas of 4 images step like micro-batches of 4; Ctrl-C + --resume continues them exactly', async () => {
    // Run A accumulates 2 micro-batches of 4 on one thread; 2 replicas take 4 images each and average their gradients
    // (DDP). BatchNorm normalises each group of 4 in both, so the steps agree up to float rounding, which this recipe
    // (lr 0.05 on batches of 8, loss rising) amplifies from step to step through ReLU/max-pool switches: the first
    // update is compared tightly, the next loosely, and resuming is compared with an uninterrupted replica run.
    expect(runA?.code).toBe(0)
    const logD = path.join(tmp, 'd')
    const whole = await resnet([...smoke(logD), '--devices', '2'])
    expect(whole.stderr).not.toMatch(/\n\s+at /)
    expect(whole.code).toBe(0)
    expect(whole.stdout).toContain('=> data parallel: 2 replicas on wasm')
    expect(whole.stdout).toMatch(/^Epoch: \[1\]\[2\/3\]\tTime .*Acc@5 /m)
    const a = readSteps(runDirOf(logA))
    const d = readSteps(runDirOf(logD))
    expect(d.map((r) => `${r.epoch}/${r.batch}`)).toEqual(a.map((r) => `${r.epoch}/${r.batch}`))
    const rel = (i: number): number => Math.abs((d[i] as StepRow).loss - (a[i] as StepRow).loss) / (a[i] as StepRow).loss
    expect(rel(0)).toBeLessThanOrEqual(1e-6) // same weights, same groups of 4
    expect(rel(1)).toBeLessThanOrEqual(1e-5) // after one averaged update
    expect(rel(2)).toBeLessThanOrEqual(1e-3)

    const logE = path.join(tmp, 'e')
    let sent = false
    const first = await resnet([...smoke(logE), '--devices', '2'], (child) => {
      if (!sent && stepsSoFar(logE).length >= 2) {
        sent = true
        child.kill('SIGINT')
      }
    })
    expect(first.code).toBe(130)
    const runDir = runDirOf(logE)
    const second = await resnet([...smoke(`${logE}-resumed`), '--devices', '2', '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code).toBe(0)
    const resumedDir = runDirOf(`${logE}-resumed`)
    // Weights, BN buffers and momentum went to the checkpoint and back to the replicas: the same losses, bit for bit.
    expect([...lossesByStep([...readSteps(runDir), ...readSteps(resumedDir)]).entries()]).toEqual([...lossesByStep(d).entries()])
    const saved = await loadCheckpoint(path.join(resumedDir, 'checkpoint.safetensors'))
    expect(saved.epoch).toBe(2)
  }, 600_000)
})
