// GCNNModel against a PyTorch module built from nn.Embedding, nn.Conv1d, F.pad and F.glu (written below, on Debian's
// torch 1.13), its weights loaded into ours. Sizes: ninp 16 ≠ nhid 12, so layer 0 has no residual and layers 1, 2 do;
// 3 layers of width 3 give a receptive field of 7 < S = 9, so the zero padding and the cut-off both show.
// Tolerances as parity.test.ts: log-probs 1e-4 absolute, every gradient 1e-3 relative to its largest reference entry.
import * as tf from '@tensorflow/tfjs-core'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff, relError } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { loadTorchIntoModel, readTorchTensors, TORCH_TENSORS_WRITER } from '@tinylab/test-utils/torch-tensors'
import { GCNNModel, nllLoss } from '../src/index'

const reason = requireTorchOrSkipReason()
const NTOKEN = 50
const S = 9
const B = 3
const CONFIG = { ntoken: NTOKEN, ninp: 16, nhid: 12, nlayers: 3, kernelSize: 3, dropout: 0.2 }

const PY = `
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
${TORCH_TENSORS_WRITER}

class GCNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers, kernel_size, dropout):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.convs = nn.ModuleList([nn.Conv1d(ninp if l == 0 else nhid, 2 * nhid, kernel_size) for l in range(nlayers)])
        self.decoder = nn.Linear(nhid, ntoken)
        self.kernel_size = kernel_size

    def forward(self, input):
        x = self.drop(self.encoder(input)).permute(1, 2, 0)  # [S, B, C] -> [B, C, S]
        for conv in self.convs:
            y = F.glu(conv(F.pad(x, (self.kernel_size - 1, 0))), dim=1)  # causal: pad on the left only
            x = y + x if y.shape == x.shape else y
        x = self.drop(x.permute(2, 0, 1))  # [S, B, nhid]
        return F.log_softmax(self.decoder(x), dim=-1)

out_dir = sys.argv[1]
torch.manual_seed(0)
model = GCNNModel(${NTOKEN}, ${CONFIG.ninp}, ${CONFIG.nhid}, ${CONFIG.nlayers}, ${CONFIG.kernelSize}, ${CONFIG.dropout})
model.eval()
data = torch.randint(${NTOKEN}, (${S}, ${B}))
targets = torch.randint(${NTOKEN}, (${S} * ${B},))
write_tensors(out_dir, 'state', list(model.state_dict().items()))
write_tensors(out_dir, 'io', [('data', data), ('targets', targets)])
out = model(data)
loss = F.nll_loss(out.view(-1, ${NTOKEN}), targets)
loss.backward()
write_tensors(out_dir, 'out', [('logp', out), ('loss', loss.reshape(1))])
write_tensors(out_dir, 'grads', [(n, p.grad) for n, p in model.named_parameters()])
`

async function runReference() {
  const dir = mkdtempSync(path.join(tmpdir(), 'lm-parity-gcnn-'))
  await runPython(PY, [dir])
  return { state: readTorchTensors(dir, 'state'), io: readTorchTensors(dir, 'io'), out: readTorchTensors(dir, 'out'), grads: readTorchTensors(dir, 'grads') }
}

let reference: ReturnType<typeof runReference> | undefined

// Every backend the LM trains on, as parity.test.ts: cpu, wasm, and wasm+native when its addon is built.
const nativeBuilt = (await initBackend({ device: 'auto' })).backend === 'wasm+native'
const devices = nativeBuilt ? (['cpu', 'wasm', 'wasm+native'] as const) : (['cpu', 'wasm'] as const)

describe.skipIf(!!reason).each(devices)('GCNNModel vs PyTorch on %s', (device) => {
  let ref: Awaited<ReturnType<typeof runReference>>
  beforeAll(async () => {
    await initBackend({ device })
    reference ??= runReference()
    ref = await reference
  })

  it('has the same state-dict keys, shapes, log-probabilities (eval) and gradients', () => {
    expect(tf.getBackend()).toBe(device)
    const model = new GCNNModel(CONFIG)
    expect(model.namedTensors().map((n) => n.name)).toEqual([...ref.state.keys()])
    loadTorchIntoModel(model.namedTensors(), ref.state)
    const data = tf.tensor(Array.from(ref.io.get('data')!.data), [S, B], 'int32') as tf.Tensor2D
    const targets = tf.tensor(Array.from(ref.io.get('targets')!.data), [S * B], 'int32')
    const logp = model.forward(data, { training: false })
    expect(logp.shape).toEqual([S, B, NTOKEN])
    expect(maxAbsDiff(logp.dataSync(), ref.out.get('logp')!.data)).toBeLessThanOrEqual(1e-4)
    const last = model.forwardLast(data, { training: false })
    expect(maxAbsDiff(last.dataSync(), ref.out.get('logp')!.data.subarray((S - 1) * B * NTOKEN))).toBeLessThanOrEqual(1e-4)
    const params = model.parameters()
    const { value, grads } = tf.variableGrads(() => nllLoss(model.forward(data, { training: false }), targets), params.map((p) => p.value))
    expect(Math.abs(value.dataSync()[0]! - ref.out.get('loss')!.data[0]!)).toBeLessThanOrEqual(1e-5)
    expect(params.map((p) => p.name)).toEqual([...ref.grads.keys()])
    for (const p of params) {
      const g = tf.tidy(() => (p.layout === 'linear-io' ? tf.transpose(grads[p.value.name]!) : grads[p.value.name]!).dataSync())
      expect(relError(g, ref.grads.get(p.name)!.data), `${p.name} grad rel error`).toBeLessThanOrEqual(1e-3)
    }
    tf.dispose([logp, last, data, targets, value, ...Object.values(grads)])
    model.dispose()
  })

  it('is causal with a hard window: a later token changes no earlier output, a token rf back or more changes nothing', () => {
    const model = new GCNNModel({ ...CONFIG, seed: 7 })
    expect(model.receptiveField).toBe(7)
    const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    const run = (tokens: number[]) => tf.tidy(() => model.forward(tf.tensor2d(tokens, [tokens.length, 1], 'int32'), { training: false }).arraySync())
    const base = run(ids)
    const laterChanged = run([...ids.slice(0, 6), 40, ...ids.slice(7)]) // position 6 changed
    expect(maxAbsDiff(base.slice(0, 6).flat(2), laterChanged.slice(0, 6).flat(2))).toBe(0)
    expect(maxAbsDiff(base.slice(6).flat(2), laterChanged.slice(6).flat(2))).toBeGreaterThan(1e-4)
    const firstChanged = run([40, ...ids.slice(1)]) // position 0 reaches outputs 0 … 6 only
    expect(maxAbsDiff(base[6]!.flat(), firstChanged[6]!.flat())).toBeGreaterThan(1e-6)
    expect(maxAbsDiff(base.slice(7).flat(2), firstChanged.slice(7).flat(2))).toBe(0)
    model.dispose()
  })
})
