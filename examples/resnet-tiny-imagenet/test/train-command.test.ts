// `pnpm resnet train` on the Tiny-ImageNet subset: a short run and what it leaves (main.py's lines, TensorBoard events,
// checkpoints, --evaluate, the report), --pretrained from a torchvision file, and command-line errors. The commands are
// independent processes, so the tests run concurrently. Interrupting and resuming: train-resume.slow.test.ts.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { loadCheckpoint } from '@tinylab/checkpoint-io'
import { readTfRecords, scalarsFromEvent } from '@tinylab/metrics-logger'
import { DEBIAN_PYTHON, requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { describe, expect, it } from 'vitest'
import { SUBSET, readSteps, resnet, runDirOf, smoke } from './_train-cli'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-train-'))

describe.concurrent('pnpm resnet train (subset, wasm)', () => {
  it('smoke run: summary, main.py progress lines, TensorBoard events, checkpoints, report', async () => {
    const logA = path.join(tmp, 'a')
    const runA = await resnet(smoke(logA))
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
    // Two independent commands on the finished run: evaluate it and write its report, side by side.
    const [evaluate, report] = await Promise.all([
      resnet([...smoke(path.join(tmp, 'a-eval')), '-e', '--resume', path.join(runDir, 'model_best.safetensors')]),
      resnet(['report', '--run', runDir]),
    ])
    expect(evaluate.code).toBe(0)
    expect(evaluate.stdout).toContain(` *   Acc@1 ${bestVal.toFixed(3)} `)
    expect(evaluate.stdout).not.toContain('Epoch: [')

    expect(report.code).toBe(0)
    const md = readFileSync(path.join(runDir, 'report.md'), 'utf8')
    expect(md).toContain('![loss](loss.png)')
    expect(md).toContain('| checkpoint_epoch1.safetensors |')
    expect(md).toContain('Linear-68')
    expect(existsSync(path.join(runDir, 'loss.png')) && existsSync(path.join(runDir, 'acc.png'))).toBe(true)
  }, 600_000)
})

const torchReason = requireTorchOrSkipReason()
describe.skipIf(!!torchReason).concurrent('pnpm resnet train --pretrained (torchvision file)', () => {
  it('loads a torch.save()d torchvision resnet18 state dict, re-initialises the 1000-way head for 10 classes, evaluates', async () => {
    const file = path.join(tmp, 'resnet18-torchvision.pth')
    await promisify(execFile)(DEBIAN_PYTHON, ['-c', `import torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet18().state_dict(), ${JSON.stringify(file)})`])
    const r = await resnet(['train', SUBSET, '--num-classes-subset', '10', '-b', '8', '--max-steps', '2', '-e', '--pretrained', file, '--device', 'wasm', '-j', '0'])
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('=> pretrained head has 1000 classes: fc re-initialised for 10')
    expect(r.stdout).toMatch(/^ \*   Acc@1 \d+\.\d{3} Acc@5 \d+\.\d{3}$/m)
  }, 600_000)
})

describe.concurrent('pnpm resnet train: command-line errors', () => {
  it('a bad choice names the flag and the allowed values, exit 2, no stack', async () => {
    const r = await resnet(['train', SUBSET, '--augment', 'flip'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("resnet: error: argument --augment: invalid choice: 'flip' (choose from 'none', 'crop', 'rrc')")
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }, 600_000)

  it('a missing data folder is named, exit 1, no stack', async () => {
    const missing = path.join(tmp, 'no-such-tiny-imagenet')
    const r = await resnet(['train', missing])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`resnet: error: ${missing}: data folder not found`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }, 600_000)
})
