/**
 * `pnpm resnet train` saves imagenet main.py's checkpoints by default: `checkpoint.pth.tar`, `model_best.pth.tar`,
 * `checkpoint_epochN.pth.tar`, each a dict with epoch, arch, state_dict, best_acc1, optimizer that PyTorch opens with
 * `torch.load` and loads into `torchvision.models.resnet18(num_classes=N)` strictly, giving TinyLab's logits; and
 * `--resume` continues from it. Slow: two short training runs through the CLI, then PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core'
import { loadCheckpoint } from '@tinylab/checkpoint-io'
import { initBackend } from '@tinylab/multi-device'
import { resnet18 } from '@tinylab/resnet-models'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { SUBSET, resnet } from './_train-cli'

const reason = requireTorchOrSkipReason()

// torch.load each file as main.py's resume does, then load it strictly into torchvision's resnet18 and into SGD.
const TORCH_CHECK = `
import json, sys, numpy as np, torch, torchvision
files, x_file, n = sys.argv[1].split(','), sys.argv[2], int(sys.argv[3])
x = torch.from_numpy(np.fromfile(x_file, dtype=np.float32).reshape(2, 3, 64, 64))
out = {}
for f in files:
    ck = torch.load(f, map_location='cpu')
    model = torchvision.models.resnet18(num_classes=n)
    model.load_state_dict(ck['state_dict'])  # strict=True
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), 0.05, momentum=0.9, weight_decay=1e-4)
    optimizer.load_state_dict(ck['optimizer'])
    with torch.no_grad():
        logits = model(x)
    out[f] = {'keys': list(ck.keys())[:5], 'epoch': ck['epoch'], 'arch': ck['arch'], 'best_acc1': float(ck['best_acc1']),
              'momentum_buffers': len(optimizer.state_dict()['state']), 'logits': logits.flatten().tolist()}
print(json.dumps(out))
`

describe.skipIf(!!reason)('pnpm resnet train: main.py checkpoints that PyTorch opens as they are', () => {
  it('checkpoint.pth.tar and model_best.pth.tar load in torchvision resnet18 strictly with our logits; --resume continues', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-pth-'))
    // The smoke run of train-command.test.ts (same seed and data): its validation accuracy rises, so model_best exists.
    const common = ['train', SUBSET, '--num-classes-subset', '10', '-b', '8', '--max-steps', '3', '--lr', '0.05', '--device', 'wasm', '-j', '0', '-p', '1', '--micro-batch', '4', '--checkpoint-epochs', '1']
    const first = await resnet([...common, '--epochs', '2', '--logdir', path.join(tmp, 'a')])
    expect(first.stderr).not.toMatch(/\n\s+at /)
    expect(first.code).toBe(0)
    const runs = readdirSync(path.join(tmp, 'a'))
    expect(runs).toHaveLength(1)
    const runDir = path.join(tmp, 'a', runs[0] as string)
    const files = ['checkpoint.pth.tar', 'model_best.pth.tar', 'checkpoint_epoch1.pth.tar'].map((f) => path.join(runDir, f))
    for (const f of files) expect(existsSync(f), f).toBe(true)
    expect(readdirSync(runDir).filter((f) => f.endsWith('.safetensors'))).toEqual([])

    const x = Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.sin(i * 12.9898) * 2)
    const xFile = path.join(tmp, 'x.bin')
    writeFileSync(xFile, x)
    const torch = JSON.parse(await runPython(TORCH_CHECK, [files.slice(0, 2).join(','), xFile, '10'])) as Record<
      string,
      { keys: string[]; epoch: number; arch: string; best_acc1: number; momentum_buffers: number; logits: number[] }
    >

    await initBackend({ device: 'cpu' })
    // main.py saves epoch + 1 and copies the checkpoint to model_best when validation accuracy improved.
    const ckptEpochOfBest = (await loadCheckpoint(files[1] as string)).epoch
    expect([1, 2]).toContain(ckptEpochOfBest)
    expect((await loadCheckpoint(files[2] as string)).epoch).toBe(1)
    for (const f of files.slice(0, 2)) {
      const t = torch[f]
      expect(t?.keys, f).toEqual(['epoch', 'arch', 'state_dict', 'best_acc1', 'optimizer'])
      expect(t?.arch, f).toBe('resnet18')
      expect(t?.epoch, f).toBe(f.endsWith('checkpoint.pth.tar') ? 2 : ckptEpochOfBest)
      expect(t?.momentum_buffers, f).toBe(62) // one per parameter after a step with momentum
      const model = resnet18({ numClasses: 10, seed: 99 })
      const ckpt = await loadCheckpoint(f)
      expect(ckpt.best_acc1).toBe(t?.best_acc1)
      model.loadStateDict(ckpt)
      const logits = tf.tidy(() => model.forward(tf.transpose(tf.tensor4d(x, [2, 3, 64, 64]), [0, 2, 3, 1]), { training: false }))
      const ours = Array.from(await logits.data())
      logits.dispose()
      model.dispose()
      const ref = t?.logits ?? []
      expect(ours).toHaveLength(ref.length)
      const scale = Math.max(...ref.map(Math.abs))
      const relative = Math.max(...ours.map((v, i) => Math.abs(v - (ref[i] as number)))) / scale
      console.info(`${path.basename(f)}: torch vs TinyLab logits, max |diff| / max |logit| = ${relative.toExponential(2)}`)
      expect(relative, f).toBeLessThanOrEqual(1e-4)
    }

    // --resume from the .pth.tar continues with the next epoch.
    const second = await resnet([...common, '--epochs', '3', '--logdir', path.join(tmp, 'b'), '--resume', files[0] as string])
    expect(second.stderr).not.toMatch(/\n\s+at /)
    expect(second.code).toBe(0)
    expect(second.stdout).toContain(`=> loaded checkpoint '${files[0]}' (epoch 2`)
    expect(second.stdout).toMatch(/^Epoch: \[2\]\[2\/3\]\t/m)
    expect(second.stdout).not.toMatch(/^Epoch: \[[01]\]/m)
  }, 600_000)
})
