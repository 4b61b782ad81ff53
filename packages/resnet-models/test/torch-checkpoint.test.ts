import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { resnet18 } from '../src/index'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { PY_LOAD_SAFETENSORS } from '@tinylab/test-utils/safetensors-py'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { HostTensor, type StateDict, loadCheckpoint, loadStateDict, saveCheckpoint, toStateDict } from '@tinylab/checkpoint-io'

const reason = requireTorchOrSkipReason()
const dir = mkdtempSync(join(tmpdir(), 'ckpt-resnet18-'))

// The reference's checkpoint: imagenet main.py's dict after one SGD step (momentum buffers exist) with random BN
// statistics, plus every tensor dumped raw (independent of the zip/pickle) and eval-mode logits for a fixed input.
const WRITE_REFERENCE = `
import torch, torchvision, json, sys
out = sys.argv[1]
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=200)
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5); m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.2, 0.2)
optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
model.train()
loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 64, 64)), torch.tensor([1, 2, 3, 4]))
optimizer.zero_grad(); loss.backward(); optimizer.step(); scheduler.step()
model.eval()
torch.save({'epoch': 3, 'arch': 'resnet18', 'state_dict': model.state_dict(), 'best_acc1': 12.5,
            'optimizer': optimizer.state_dict(), 'scheduler': scheduler.state_dict()}, out + '/reference.pth.tar')
index, blobs, offset = [], [], 0
tensors = list(model.state_dict().items()) + [('momentum.%d' % k, v['momentum_buffer']) for k, v in optimizer.state_dict()['state'].items()]
for name, t in tensors:
    b = t.contiguous().numpy().tobytes()
    index.append({'name': name, 'dtype': str(t.dtype), 'shape': list(t.shape), 'offset': offset, 'nbytes': len(b)})
    blobs.append(b); offset += len(b)
open(out + '/raw.bin', 'wb').write(b''.join(blobs))
torch.manual_seed(1)
x = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    logits = model(x)
open(out + '/x.bin', 'wb').write(x.numpy().tobytes())
open(out + '/logits.bin', 'wb').write(logits.numpy().tobytes())
print(json.dumps(index))
`

// torch loads what we wrote (zip .pth and safetensors through the mini reader) into torchvision's resnet18,
// strictly; tensors must equal the reference bit for bit and logits must match ours.
const CHECK_OURS = `
import torch, torchvision, json, sys, numpy as np
${PY_LOAD_SAFETENSORS}
out = sys.argv[1]
ref = torch.load(out + '/reference.pth.tar')
x = torch.from_numpy(np.fromfile(out + '/x.bin', dtype=np.float32).reshape(2, 3, 64, 64))
ours_logits = torch.from_numpy(np.fromfile(out + '/ours_logits.bin', dtype=np.float32).reshape(2, 200))
ref_logits = torch.from_numpy(np.fromfile(out + '/logits.bin', dtype=np.float32).reshape(2, 200))
pth = torch.load(out + '/ours.pth.tar')
st, meta = load_safetensors(out + '/ours.safetensors')
result = {'pth_keys': list(pth.keys()), 'meta_keys': sorted(meta.keys())}
for label, sd in [('pth', pth['state_dict']), ('safetensors', {k: v for k, v in st.items() if '/' not in k})]:
    assert list(sd.keys()) == list(ref['state_dict'].keys()), label
    diffs = [k for k in sd if not (sd[k].dtype == ref['state_dict'][k].dtype and torch.equal(sd[k], ref['state_dict'][k]))]
    model = torchvision.models.resnet18(num_classes=200)
    model.load_state_dict(sd, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(x)
    result[label] = {'unequal_tensors': diffs, 'vs_ours': (logits - ours_logits).abs().max().item(), 'vs_ref': (logits - ref_logits).abs().max().item()}
opt_model = torchvision.models.resnet18(num_classes=200)
optimizer = torch.optim.SGD(opt_model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
optimizer.load_state_dict(pth['optimizer'])
ref_state = ref['optimizer']['state']
result['momentum_equal'] = all(torch.equal(optimizer.state_dict()['state'][k]['momentum_buffer'], ref_state[k]['momentum_buffer']) for k in ref_state)
result['sched'] = pth['scheduler'] == ref['scheduler']
result['epoch'] = [pth['epoch'], pth['arch'], pth['best_acc1']]
print(json.dumps(result))
`

interface RawIndex {
  name: string
  dtype: string
  shape: number[]
  offset: number
  nbytes: number
}

describe.skipIf(!!reason)('torchvision resnet18 checkpoints, both directions', () => {
  let index: RawIndex[]
  beforeAll(async () => {
    await initBackend({ device: 'cpu' })
    index = JSON.parse(await runPython(WRITE_REFERENCE, [dir])) as RawIndex[]
  })

  it('reads torch.save(main.py dict) with identical tensors', async () => {
    const ckpt = await loadCheckpoint(join(dir, 'reference.pth.tar'))
    expect(Object.keys(ckpt)).toEqual(['epoch', 'arch', 'state_dict', 'best_acc1', 'optimizer', 'scheduler'])
    expect([ckpt.epoch, ckpt.arch, ckpt.best_acc1]).toEqual([3, 'resnet18', 12.5])
    const stateDict = ckpt.state_dict as StateDict
    const momentum = (ckpt.optimizer as { state: Record<string, { momentum_buffer: HostTensor }> }).state
    const raw = readFileSync(join(dir, 'raw.bin'))
    const sdEntries = index.filter((e) => !e.name.startsWith('momentum.'))
    expect(Object.keys(stateDict)).toEqual(sdEntries.map((e) => e.name))
    expect(sdEntries.length).toBe(122) // resnet18: 62 parameters + 60 BatchNorm buffers
    let compared = 0
    for (const e of index) {
      const t = e.name.startsWith('momentum.') ? momentum[e.name.slice('momentum.'.length)]?.momentum_buffer : stateDict[e.name]
      expect(t, e.name).toBeInstanceOf(HostTensor)
      expect([...(t as HostTensor).shape], e.name).toEqual(e.shape)
      expect((t as HostTensor).dtype, e.name).toBe(e.dtype === 'torch.int64' ? 'int64' : 'float32')
      // Identical bytes, not just close values.
      expect(Buffer.from((t as HostTensor).bytes()).equals(raw.subarray(e.offset, e.offset + e.nbytes)), e.name).toBe(true)
      compared++
    }
    expect(compared).toBe(122 + 62)
  })

  it('our ResNet-18 with the loaded weights gives torch logits, and torch loads what we write (<= 1e-4)', async () => {
    const ckpt = await loadCheckpoint(join(dir, 'reference.pth.tar'))
    const model = resnet18({ numClasses: 200, seed: 123 })
    const result = loadStateDict(model.namedTensors(), ckpt.state_dict as StateDict, { modelName: 'ResNet' })
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] })

    const xRaw = readFileSync(join(dir, 'x.bin'))
    const x = new Float32Array(xRaw.buffer, xRaw.byteOffset, xRaw.byteLength / 4)
    const logits = tf.tidy(() => model.forward(tf.transpose(tf.tensor4d(x, [2, 3, 64, 64]), [0, 2, 3, 1]), { training: false }))
    const ours = logits.dataSync() as Float32Array
    logits.dispose()
    const refRaw = readFileSync(join(dir, 'logits.bin'))
    const ref = new Float32Array(refRaw.buffer, refRaw.byteOffset, refRaw.byteLength / 4)
    // float32 on both sides with different summation orders over ~5e5-term convolutions: 1e-4 (the bar).
    const diff = maxAbsDiff(ours, ref)
    console.info(`resnet18 logits, ours vs torch: max |diff| ${diff.toExponential(2)}`)
    expect(diff).toBeLessThanOrEqual(1e-4)
    writeFileSync(join(dir, 'ours_logits.bin'), ours)

    // The state dict goes through tfjs (HWIO, [in,out], int32) and back to PyTorch layout.
    const stateDict = await toStateDict(model.namedTensors())
    const state = { epoch: ckpt.epoch, arch: ckpt.arch, state_dict: stateDict, best_acc1: ckpt.best_acc1, optimizer: ckpt.optimizer, scheduler: ckpt.scheduler }
    await saveCheckpoint(join(dir, 'ours.pth.tar'), state)
    await saveCheckpoint(join(dir, 'ours.safetensors'), state)
    const verdict = JSON.parse(await runPython(CHECK_OURS, [dir])) as {
      pth_keys: string[]
      meta_keys: string[]
      pth: { unequal_tensors: string[]; vs_ours: number; vs_ref: number }
      safetensors: { unequal_tensors: string[]; vs_ours: number; vs_ref: number }
      momentum_equal: boolean
      sched: boolean
      epoch: unknown[]
    }
    expect(verdict.pth_keys).toEqual(['epoch', 'arch', 'state_dict', 'best_acc1', 'optimizer', 'scheduler'])
    expect(verdict.meta_keys).toEqual(['format', 'tinylab.state'])
    for (const label of ['pth', 'safetensors'] as const) {
      expect(verdict[label].unequal_tensors, label).toEqual([])
      expect(verdict[label].vs_ref, label).toBe(0) // identical weights, same torch: identical logits
      expect(verdict[label].vs_ours, label).toBeLessThanOrEqual(1e-4)
    }
    console.info(`torch logits from our files vs our logits: pth ${verdict.pth.vs_ours.toExponential(2)}, safetensors ${verdict.safetensors.vs_ours.toExponential(2)}`)
    expect(verdict.momentum_equal).toBe(true)
    expect(verdict.sched).toBe(true)
    expect(verdict.epoch).toEqual([3, 'resnet18', 12.5])

    // And our own reader gets the same back from the safetensors file.
    const again = await loadCheckpoint(join(dir, 'ours.safetensors'))
    expect(Object.keys(again)).toEqual(['epoch', 'arch', 'state_dict', 'best_acc1', 'optimizer', 'scheduler'])
    expect(Object.keys(again.state_dict as StateDict)).toEqual(Object.keys(stateDict))
    model.dispose()
  })
})
