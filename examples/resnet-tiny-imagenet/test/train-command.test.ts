import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadCheckpoint } from '@tinylab/checkpoint-io'
import { readScalarsJsonl, readTfRecords, scalarsFromEvent } from '@tinylab/metrics-logger'
import { REPO_ROOT, SHARED_DATA } from '@tinylab/test-utils/paths'
import { DEBIAN_PYTHON, requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { describe, expect, it } from 'vitest'

const SUBSET = path.join(SHARED_DATA, 'tiny-imagenet-200-subset')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-train-'))

interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs `pnpm resnet …` as the root script does (vite-node on main.ts). `watch` is called every 200 ms with the child,
 * so a test can interrupt it at a chosen point.
 */
function resnet(args: string[], watch?: (child: ChildProcess) => void): Promise<Result> {
  const viteNode = path.join(REPO_ROOT, 'node_modules/.bin/vite-node')
  return new Promise((resolve) => {
    const child = spawn(viteNode, ['--config', 'vite.config.ts', 'examples/resnet-tiny-imagenet/src/main.ts', '--', ...args], { cwd: REPO_ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = watch ? setInterval(() => watch(child), 200) : undefined
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/**
 * 2 epochs x 3 steps of batch 8 on the 10 full classes, each step as 2 micro-batches of 4 with accumulated gradients;
 * 3 validation batches per epoch.
 */
const smoke = (logdir: string): string[] => [
  'train', SUBSET, '--num-classes-subset', '10', '-b', '8', '--max-steps', '3', '--epochs', '2', '--lr', '0.05',
  '--device', 'wasm', '-j', '0', '-p', '1', '--micro-batch', '4', '--checkpoint-epochs', '1', '--logdir', logdir,
  '--checkpoint-format', 'safetensors', // the default, pth, is tested in train-checkpoint-pth.slow.test.ts
]

function runDirOf(logdir: string): string {
  const dirs = readdirSync(logdir).filter((d) => d.endsWith('_resnet18'))
  expect(dirs).toHaveLength(1)
  return path.join(logdir, dirs[0] as string)
}

interface StepRow {
  epoch: number
  batch: number
  loss: number
}

function readSteps(runDir: string): StepRow[] {
  const file = path.join(runDir, 'steps.jsonl')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as StepRow)
}

/** Losses by "epoch/batch"; a step logged twice (re-done after a kill) keeps its last value. */
function lossesByStep(rows: StepRow[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.epoch}/${r.batch}`, r.loss]))
}

function stepsSoFar(logdir: string): StepRow[] {
  if (!existsSync(logdir)) return []
  const dirs = readdirSync(logdir).filter((d) => d.endsWith('_resnet18'))
  return dirs.length === 1 ? readSteps(path.join(logdir, dirs[0] as string)) : []
}

describe('pnpm resnet train (subset, wasm)', () => {
  const logA = path.join(tmp, 'a')
  let runA: Result

  it('smoke run: summary, main.py progress lines, TensorBoard events, checkpoints, report', async () => {
    runA = await resnet(smoke(logA))
    expect(runA.stderr).not.toMatch(/\n\s+at /)
    expect(runA.code).toBe(0)
    expect(runA.stdout).toContain('Linear-68                   [-1, 10]           5,130')
    expect(runA.stdout).toContain('=> micro-batches: 2 x 4 images per step of 8 with gradient accumulation (set by --micro-batch); BatchNorm normalises each micro-batch')
    // imagenet main.py's formats: ProgressMeter lines and display_summary
    expect(runA.stdout).toMatch(/^Epoch: \[0\]\[0\/3\]\tTime +\d+\.\d{3} \( *\d+\.\d{3}\)\tData +\d+\.\d{3} \( *\d+\.\d{3}\)\tLoss \d\.\d{4}e[+-]\d\d \(\d\.\d{4}e[+-]\d\d\)\tAcc@1 +\d+\.\d\d \( *\d+\.\d\d\)\tAcc@5 +\d+\.\d\d \( *\d+\.\d\d\)$/m)
    expect(runA.stdout).toMatch(/^Epoch: \[1\]\[2\/3\]\t/m)
    expect(runA.stdout).toMatch(/^Test: \[0\/3\]\tTime +\d+\.\d{3} \( *\d+\.\d{3}\)\tLoss /m)
    expect(runA.stdout).toMatch(/^ \*   Acc@1 \d+\.\d{3} Acc@5 \d+\.\d{3}$/m)

    const runDir = runDirOf(logA)
    const events = readdirSync(runDir).filter((f) => f.startsWith('events.out.tfevents.'))
    expect(events.length).toBe(1)
    const { records, truncated } = readTfRecords(new Uint8Array(readFileSync(path.join(runDir, events[0] as string))))
    expect(truncated).toBe(false)
    const scalars = records.flatMap((r) => scalarsFromEvent(r))
    for (const tag of ['scalar/train_loss', 'scalar/train_acc', 'scalar/val_loss', 'scalar/val_acc']) {
      expect(scalars.filter((s) => s.tag === tag).map((s) => s.step)).toEqual([0, 1])
    }
    // The per-epoch train loss is the mean of that epoch's step losses (batches of equal size).
    const steps = readSteps(runDir)
    expect(steps).toHaveLength(6)
    const epoch0 = steps.filter((s) => s.epoch === 0).map((s) => s.loss)
    const logged = scalars.find((s) => s.tag === 'scalar/train_loss' && s.step === 0)?.value as number
    expect(logged).toBeCloseTo(epoch0.reduce((a, b) => a + b, 0) / 3, 4)

    for (const f of ['checkpoint.safetensors', 'model_best.safetensors', 'checkpoint_epoch1.safetensors']) expect(existsSync(path.join(runDir, f))).toBe(true)
    const ckpt = await loadCheckpoint(path.join(runDir, 'checkpoint.safetensors'))
    expect(ckpt.epoch).toBe(2)
    expect(ckpt.arch).toBe('resnet18')
    expect(ckpt.batch).toBe(0)
    expect(Object.keys(ckpt.state_dict as object)).toContain('layer4.1.bn2.running_var')
    expect((ckpt.classes as string[]).length).toBe(10)
    const snapshot = await loadCheckpoint(path.join(runDir, 'checkpoint_epoch1.safetensors'))
    expect(snapshot.epoch).toBe(1)

    // --evaluate on model_best reproduces the best epoch's logged validation accuracy.
    const bestVal = Math.max(...scalars.filter((s) => s.tag === 'scalar/val_acc').map((s) => s.value))
    const evaluate = await resnet([...smoke(path.join(tmp, 'a-eval')), '-e', '--resume', path.join(runDir, 'model_best.safetensors')])
    expect(evaluate.code).toBe(0)
    expect(evaluate.stdout).toContain(` *   Acc@1 ${bestVal.toFixed(3)} `)
    expect(evaluate.stdout).not.toContain('Epoch: [')

    const report = await resnet(['report', '--run', runDir])
    expect(report.code).toBe(0)
    const md = readFileSync(path.join(runDir, 'report.md'), 'utf8')
    expect(md).toContain('![loss](loss.png)')
    expect(md).toContain('| checkpoint_epoch1.safetensors |')
    expect(md).toContain('Linear-68')
    expect(existsSync(path.join(runDir, 'loss.png')) && existsSync(path.join(runDir, 'acc.png'))).toBe(true)
  }, 240_000)

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

    const second = await resnet([...smoke(logB), '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code).toBe(0)
    const a = lossesByStep(readSteps(runDirOf(logA)))
    const b = lossesByStep(readSteps(runDir))
    expect(readSteps(runDir)).toHaveLength(6) // nothing re-done: the save was after a finished step
    expect([...b.entries()]).toEqual([...a.entries()])
    // Epoch averages (meters restored mid-epoch) and validation equal the uninterrupted run's.
    const scalarsA = readScalarsJsonl(path.join(runDirOf(logA), 'scalars.jsonl'))
    const scalarsB = readScalarsJsonl(path.join(runDir, 'scalars.jsonl'))
    const pick = (rows: typeof scalarsA) => rows.filter((r) => r.tag.startsWith('scalar/')).map((r) => [r.tag, r.step, r.value])
    expect(pick(scalarsB)).toEqual(pick(scalarsA))
  }, 170_000)

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
    const second = await resnet([...smoke(logC), '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('(epoch 1, best acc@1')
    const rows = readSteps(runDir)
    expect(rows.length).toBeGreaterThan(6) // epoch 1's first step(s) ran twice
    expect([...lossesByStep(rows).entries()]).toEqual([...lossesByStep(readSteps(runDirOf(logA))).entries()])
  }, 170_000)

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
    const second = await resnet([...smoke(logE), '--devices', '2', '--resume', path.join(runDir, 'checkpoint.safetensors')])
    expect(second.code).toBe(0)
    // Weights, BN buffers and momentum went to the checkpoint and back to the replicas: the same losses, bit for bit.
    expect([...lossesByStep(readSteps(runDir)).entries()]).toEqual([...lossesByStep(d).entries()])
    const saved = await loadCheckpoint(path.join(runDir, 'checkpoint.safetensors'))
    expect(saved.epoch).toBe(2)
  }, 300_000)
})

const torchReason = requireTorchOrSkipReason()
describe.skipIf(!!torchReason)('pnpm resnet train --pretrained (torchvision file)', () => {
  it('loads a torch.save()d torchvision resnet18 state dict, re-initialises the 1000-way head for 10 classes, evaluates', async () => {
    const file = path.join(tmp, 'resnet18-torchvision.pth')
    execFileSync(DEBIAN_PYTHON, ['-c', `import torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet18().state_dict(), ${JSON.stringify(file)})`])
    const r = await resnet(['train', SUBSET, '--num-classes-subset', '10', '-b', '8', '--max-steps', '2', '-e', '--pretrained', file, '--device', 'wasm', '-j', '0'])
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('=> pretrained head has 1000 classes: fc re-initialised for 10')
    expect(r.stdout).toMatch(/^ \*   Acc@1 \d+\.\d{3} Acc@5 \d+\.\d{3}$/m)
  }, 120_000)
})

describe('pnpm resnet train: command-line errors', () => {
  it('a bad choice names the flag and the allowed values, exit 2, no stack', async () => {
    const r = await resnet(['train', SUBSET, '--augment', 'flip'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("resnet: error: argument --augment: invalid choice: 'flip' (choose from 'none', 'crop', 'rrc')")
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }, 60_000)

  it('a missing data folder is named, exit 1, no stack', async () => {
    const missing = path.join(tmp, 'no-such-tiny-imagenet')
    const r = await resnet(['train', missing])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`resnet: error: ${missing}: data folder not found`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }, 60_000)
})
