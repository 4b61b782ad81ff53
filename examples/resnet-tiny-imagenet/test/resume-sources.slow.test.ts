// `pnpm resnet train --resume/--pretrained` on odd sources, in-process on a 3-class synthetic dataset (issue 19): they
// train or evaluate, hence the slow suite.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DEBIAN_PYTHON, requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureSyntheticDataset } from '@tinylab/tiny-imagenet-data'
import { trainCommand } from '../src/train-command'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-bad-'))
const WNIDS = ['n90000000', 'n90000001', 'n90000002']
let data = ''
/** A finished 1-step run (epoch 1 of 2) to resume from. */
let runDir = ''

const base = (logdir: string): string[] =>
  ['-b', '4', '--max-steps', '1', '--device', 'wasm', '-j', '0', '-p', '1', '--checkpoint-format', 'safetensors', '--logdir', logdir]

beforeAll(async () => {
  data = await ensureSyntheticDataset(path.join(tmp, 'data'), { classes: 3, trainPerClass: 4, valPerClass: 2, seed: 0 })
  expect(await trainCommand.run([data, ...base(path.join(tmp, 'first')), '--epochs', '1', '--checkpoint-epochs', '1'])).toBe(0)
  runDir = path.join(tmp, 'first', readdirSync(path.join(tmp, 'first'))[0] as string)
}, 120_000)

describe('pnpm resnet train --resume (issue 19)', () => {
  it('writes a new run folder under --logdir, records the source in hparams.json and never touches the source run', async () => {
    // A copy of the run folder: its checkpoint still names the original folder as run_dir.
    const copy = path.join(tmp, 'copy')
    cpSync(runDir, copy, { recursive: true })
    const before = new Map(readdirSync(runDir).map((f) => [f, statSync(path.join(runDir, f)).mtimeMs]))
    const logdir = path.join(tmp, 'resumed')
    expect(await trainCommand.run([data, ...base(logdir), '--epochs', '2', '--resume', path.join(copy, 'checkpoint.safetensors')])).toBe(0)
    expect(new Map(readdirSync(runDir).map((f) => [f, statSync(path.join(runDir, f)).mtimeMs]))).toEqual(before)
    const [newRun, ...others] = readdirSync(logdir)
    expect(others).toEqual([])
    const hparams = JSON.parse(readFileSync(path.join(logdir, newRun as string, 'hparams.json'), 'utf8')) as { resumedFrom: string }
    expect(hparams.resumedFrom).toBe(path.resolve(copy, 'checkpoint.safetensors'))
    expect(readdirSync(path.join(logdir, newRun as string))).toContain('checkpoint.safetensors')
  }, 120_000)

  it('--pretrained from a checkpoint of other classes with a head of the same size re-initialises the head', async () => {
    const renamed = path.join(tmp, 'renamed')
    cpSync(data, renamed, { recursive: true })
    // Same images, the third class under a new wnid: a head of 3 outputs whose last row meant another class.
    const [a, b, c] = WNIDS as [string, string, string]
    const d = 'n91234567'
    writeFileSync(path.join(renamed, 'wnids.txt'), `${a}\n${b}\n${d}\n`)
    cpSync(path.join(renamed, 'train', c), path.join(renamed, 'train', d), { recursive: true })
    writeFileSync(path.join(renamed, 'val', 'val_annotations.txt'), readFileSync(path.join(renamed, 'val', 'val_annotations.txt'), 'utf8').replaceAll(c, d))
    const log: string[] = []
    const spy = console.log
    console.log = (...m: unknown[]) => void log.push(m.join(' '))
    try {
      expect(await trainCommand.run([renamed, ...base(path.join(tmp, 'never')), '-e', '--pretrained', path.join(runDir, 'checkpoint.safetensors')])).toBe(0)
    } finally {
      console.log = spy
    }
    expect(log).toContain('=> pretrained head was trained on other classes: fc re-initialised for the 3 selected')
  }, 120_000)
})

const torchReason = requireTorchOrSkipReason()
describe.skipIf(!!torchReason)('pnpm resnet train --pretrained legacy file (issue 19)', () => {
  let legacy = ''
  beforeAll(() => {
    legacy = path.join(tmp, 'legacy.pth')
    const script = 'import sys, torch, torchvision\ntorch.manual_seed(0)\ntorch.save(torchvision.models.resnet18().state_dict(), sys.argv[1], _use_new_zipfile_serialization=False)'
    execFileSync(DEBIAN_PYTHON, ['-c', script, legacy], { timeout: 120_000 })
  }, 120_000)

  it('a legacy (non-zip) torch.save file loads like a zip one', async () => {
    expect(await trainCommand.run([data, ...base(path.join(tmp, 'never')), '-e', '--pretrained', legacy])).toBe(0)
  }, 120_000)

})
