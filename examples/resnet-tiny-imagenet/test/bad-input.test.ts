// Bad input to `pnpm resnet train`, run in-process on a 3-class synthetic dataset (issue 19): each case fails before
// training with one message naming the file or the flag.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DEBIAN_PYTHON, requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { saveCheckpoint } from '@tinylab/checkpoint-io'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureSyntheticDataset } from '@tinylab/tiny-imagenet-data'
import { trainCommand } from '../src/train-command'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-bad-'))
const WNIDS = ['n90000000', 'n90000001', 'n90000002']
let data = ''

const base = (logdir: string): string[] => ['-b', '4', '--max-steps', '1', '--device', 'wasm', '-j', '0', '-p', '1', '--logdir', logdir]

beforeAll(async () => {
  data = await ensureSyntheticDataset(path.join(tmp, 'data'), { classes: 3, trainPerClass: 4, valPerClass: 2, seed: 0 })
}, 120_000)

describe('pnpm resnet train --resume with other classes (issue 19)', () => {
  it('refuses another class selection instead of relabelling the head, naming the flag and the way out', async () => {
    // What a run on the 3 classes saves, less the weights: the classes are checked before any tensor is read.
    const ckpt = path.join(tmp, 'three-classes.safetensors')
    await saveCheckpoint(ckpt, { epoch: 1, arch: 'resnet18', best_acc1: 0, state_dict: {}, classes: WNIDS, num_classes: 3 })
    const other = [WNIDS[0], WNIDS[1]].join(',')
    for (const extra of [[], ['-e']]) {
      await expect(trainCommand.run([data, ...base(path.join(tmp, 'never')), '--epochs', '2', '--resume', ckpt, '--classes', other, ...extra])).rejects.toThrow(
        `argument --classes: ${ckpt} was trained on 3 classes and this selection of 2 drops ${WNIDS[2]}; resuming would relabel them. Train a new head on these classes with --pretrained ${ckpt} instead of --resume`,
      )
    }
    // The same classes in another order label alike: accepted, up to the (empty) weights.
    await expect(trainCommand.run([data, ...base(path.join(tmp, 'same')), '-e', '--resume', ckpt, '--classes', [...WNIDS].reverse().join(',')])).rejects.toThrow(/^Error\(s\) in loading state_dict for ResNet/)
  }, 120_000)
})

describe('pnpm resnet train: bad data and outputs (issue 19)', () => {
  it('an empty class folder is an error naming it, before the model is built', async () => {
    const root = path.join(tmp, 'empty-class')
    cpSync(data, root, { recursive: true })
    const images = path.join(root, 'train', WNIDS[1] as string, 'images')
    rmSync(images, { recursive: true })
    mkdirSync(images)
    await expect(trainCommand.run([root, ...base(path.join(tmp, 'never'))])).rejects.toThrow(`${images}: found no .JPEG file for the class ${WNIDS[1]}`)
  })

  it('a --logdir or --save-dir that cannot be written is refused up front, naming the path and the reason', async () => {
    const file = path.join(tmp, 'a-file')
    writeFileSync(file, 'x')
    await expect(trainCommand.run([data, ...base(path.join(file, 'runs'))])).rejects.toThrow(`${path.join(file, 'runs')}: cannot create the folder for --logdir: ${file} is a file, not a folder`)
    await expect(trainCommand.run([data, ...base(path.join(tmp, 'ok')), '--save-dir', path.join(file, 'ckpt')])).rejects.toThrow(
      `${path.join(file, 'ckpt')}: cannot create the folder for --save-dir: ${file} is a file, not a folder`,
    )
  })
})

const torchReason = requireTorchOrSkipReason()
describe.skipIf(!!torchReason)('pnpm resnet train --pretrained: files torch wrote (issue 19)', () => {
  let laughs = ''
  beforeAll(() => {
    laughs = path.join(tmp, 'laughs.pth')
    const script = "import sys, torch\nl = []\nfor _ in range(40):\n    l = [l, l]\ntorch.save({'state_dict': {}, 'b': l}, sys.argv[1])"
    execFileSync(DEBIAN_PYTHON, ['-c', script, laughs], { timeout: 120_000 })
  }, 120_000)

  it('a 1 KB pickle of shared references is refused in well under a second, naming the file', async () => {
    const cpu0 = process.cpuUsage()
    await expect(trainCommand.run([data, ...base(path.join(tmp, 'never')), '-e', '--pretrained', laughs])).rejects.toThrow(/^laughs\.pth: shared references in the pickle expand to more than/)
    // Read before the backend starts and the model is built: only the data folder listing comes first. CPU time, as
    // test machines run other jobs.
    const cpu = process.cpuUsage(cpu0)
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(1000)
  }, 120_000)
})
