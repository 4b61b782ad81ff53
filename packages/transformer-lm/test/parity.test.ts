// The reference models (a transcription of pytorch/examples word_language_model/model.py, test/reference_model.py) on
// Debian's torch 1.13, their weights loaded into ours. Tolerances: log-probs 1e-4 absolute (float32 through two encoder
// layers and a log-softmax, values O(1..10)); gradients 1e-3 relative to the largest reference entry (relError).
import * as tf from '@tensorflow/tfjs-core'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff, relError } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { loadTorchIntoModel, readTorchTensors, TORCH_TENSORS_WRITER } from '@tinylab/test-utils/torch-tensors'
import { nllLoss, RNNModel, TransformerModel } from '../src/index'
import type { NamedTensor, RnnType } from '../src/index'

const reason = requireTorchOrSkipReason()
const REF = readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'reference_model.py'), 'utf8')
const NTOKEN = 50
const S = 7
const B = 3

const PY = `${REF}
${TORCH_TENSORS_WRITER}
import sys, json
out_dir, kind = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
if kind == 'Transformer':
    model = TransformerModel(${NTOKEN}, 16, 2, 24, 2, 0.2)
else:
    tied = kind.endswith('_tied')
    model = RNNModel(kind.replace('_tied', ''), ${NTOKEN}, 16, 16 if tied else 12, 2, 0.2, tied)
model.eval()
data = torch.randint(${NTOKEN}, (${S}, ${B}))
targets = torch.randint(${NTOKEN}, (${S} * ${B},))
write_tensors(out_dir, 'state', list(model.state_dict().items()))
write_tensors(out_dir, 'io', [('data', data), ('targets', targets)])
if kind == 'Transformer':
    out = model(data)
    loss = F.nll_loss(out.view(-1, ${NTOKEN}), targets)
    extra = []
else:
    hidden = model.init_hidden(${B})
    hidden = tuple(torch.randn_like(h) * 0.5 for h in hidden) if isinstance(hidden, tuple) else torch.randn_like(hidden) * 0.5
    hs = list(hidden) if isinstance(hidden, tuple) else [hidden]
    out, new_hidden = model(data, hidden)
    new_hs = list(new_hidden) if isinstance(new_hidden, tuple) else [new_hidden]
    loss = F.nll_loss(out, targets)
    extra = [('h0', hs[0])] + ([('c0', hs[1])] if len(hs) > 1 else []) + [('h1', new_hs[0])] + ([('c1', new_hs[1])] if len(new_hs) > 1 else [])
loss.backward()
write_tensors(out_dir, 'out', [('logp', out.reshape(${S}, ${B}, ${NTOKEN})), ('loss', loss.reshape(1))] + extra)
write_tensors(out_dir, 'grads', [(n, p.grad) for n, p in model.named_parameters()])
`

function toTorchLayout(n: NamedTensor, t: tf.Tensor): Float32Array {
  return tf.tidy(() => (n.layout === 'linear-io' ? tf.transpose(t) : t).dataSync() as Float32Array)
}

const cache = new Map<string, ReturnType<typeof runReference>>()
/** One PyTorch run per model kind, shared by the backends. */
function reference(kind: string) {
  if (!cache.has(kind)) cache.set(kind, runReference(kind))
  return cache.get(kind)!
}

async function runReference(kind: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `lm-parity-${kind}-`))
  await runPython(PY, [dir, kind])
  return {
    state: readTorchTensors(dir, 'state'),
    io: readTorchTensors(dir, 'io'),
    out: readTorchTensors(dir, 'out'),
    grads: readTorchTensors(dir, 'grads'),
  }
}

function compareGrads(model: { parameters(): NamedTensor[] }, grads: Record<string, tf.Tensor>, ref: Map<string, { data: Float32Array }>) {
  const params = model.parameters()
  expect(params.map((p) => p.name)).toEqual([...ref.keys()]) // torch's named_parameters(): shared weights once
  for (const p of params) {
    const g = grads[p.value.name]
    expect(g, p.name).toBeDefined()
    const err = relError(toTorchLayout(p, g!), ref.get(p.name)!.data)
    expect(err, `${p.name} grad rel error`).toBeLessThanOrEqual(1e-3)
  }
}

// Every backend the LM trains on: cpu (pure JS), wasm (XNNPACK matmuls, the batched-matmul and segment-sum kernels
// multi-device adds for attention and embedding gradients) and wasm+native (oneDNN matmuls) when its addon is built.
const nativeBuilt = (await initBackend({ device: 'auto' })).backend === 'wasm+native'
if (!nativeBuilt && process.env['CI'] === 'true') throw new Error('CI builds @tinylab/native-cpu, but wasm+native did not start')
const devices = nativeBuilt ? (['cpu', 'wasm', 'wasm+native'] as const) : (['cpu', 'wasm'] as const)
describe.skipIf(!!reason).each(devices)('on %s', (device) => {
describe('TransformerModel vs PyTorch (model.py on torch 1.13)', () => {
  let ref: Awaited<ReturnType<typeof reference>>
  beforeAll(async () => {
    await initBackend({ device })
    ref = await reference('Transformer')
  })

  it('has the same state-dict keys, shapes, log-probabilities (eval) and gradients', () => {
    expect(tf.getBackend()).toBe(device)
    const model = new TransformerModel({ ntoken: NTOKEN, ninp: 16, nhead: 2, nhid: 24, nlayers: 2, dropout: 0.2 })
    loadTorchIntoModel(model.namedTensors(), ref.state)
    const data = tf.tensor(Array.from(ref.io.get('data')!.data), [S, B], 'int32') as tf.Tensor2D
    const targets = tf.tensor(Array.from(ref.io.get('targets')!.data), [S * B], 'int32')
    const logp = model.forward(data, { training: false })
    expect(logp.shape).toEqual([S, B, NTOKEN])
    expect(maxAbsDiff(logp.dataSync(), ref.out.get('logp')!.data)).toBeLessThanOrEqual(1e-4)
    const { value, grads } = tf.variableGrads(() => nllLoss(model.forward(data, { training: false }), targets), model.parameters().map((p) => p.value))
    expect(Math.abs(value.dataSync()[0]! - ref.out.get('loss')!.data[0]!)).toBeLessThanOrEqual(1e-5)
    compareGrads(model, grads, ref.grads)
    tf.dispose([logp, data, targets, value, ...Object.values(grads)])
    model.dispose()
  })

  it('the causal mask matters: changing a later token leaves earlier outputs unchanged', () => {
    const model = new TransformerModel({ ntoken: NTOKEN, ninp: 16, nhead: 2, nhid: 24, nlayers: 2 })
    const a = tf.tensor2d([[1], [2], [3], [4]], [4, 1], 'int32')
    const b = tf.tensor2d([[1], [2], [3], [9]], [4, 1], 'int32')
    const la = model.forward(a, { training: false }).arraySync()
    const lb = model.forward(b, { training: false }).arraySync()
    expect(maxAbsDiff(la.slice(0, 3).flat(2), lb.slice(0, 3).flat(2))).toBeLessThan(1e-6)
    expect(maxAbsDiff(la[3]!.flat(), lb[3]!.flat())).toBeGreaterThan(1e-4)
    tf.dispose([a, b])
    model.dispose()
  })
})

describe.each(['LSTM', 'GRU', 'LSTM_tied', 'RNN_TANH'])('RNNModel %s vs PyTorch', (kind) => {
  let ref: Awaited<ReturnType<typeof reference>>
  beforeAll(async () => {
    await initBackend({ device })
    ref = await reference(kind)
  })

  it('matches log-probabilities, the new hidden state and gradients', () => {
    expect(tf.getBackend()).toBe(device)
    const tied = kind.endsWith('_tied')
    const model = new RNNModel({ rnnType: kind.replace('_tied', '') as RnnType, ntoken: NTOKEN, ninp: 16, nhid: tied ? 16 : 12, nlayers: 2, dropout: 0.2, tieWeights: tied })
    loadTorchIntoModel(model.namedTensors(), ref.state)
    const data = tf.tensor(Array.from(ref.io.get('data')!.data), [S, B], 'int32') as tf.Tensor2D
    const targets = tf.tensor(Array.from(ref.io.get('targets')!.data), [S * B], 'int32')
    const h0 = ref.out.get('h0')!
    const c0 = ref.out.get('c0')
    const hidden = { h: tf.tensor3d(h0.data, h0.shape as [number, number, number]), ...(c0 ? { c: tf.tensor3d(c0.data, c0.shape as [number, number, number]) } : {}) }
    const { logProbs, hidden: next } = model.forward(data, { training: false, hidden })
    expect(maxAbsDiff(logProbs.dataSync(), ref.out.get('logp')!.data)).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(next.h.dataSync(), ref.out.get('h1')!.data)).toBeLessThanOrEqual(1e-5)
    if (c0) expect(maxAbsDiff(next.c!.dataSync(), ref.out.get('c1')!.data)).toBeLessThanOrEqual(1e-5)
    const { value, grads } = tf.variableGrads(
      () => tf.tidy(() => nllLoss(model.forward(data, { training: false, hidden }).logProbs, targets)),
      model.parameters().map((p) => p.value),
    )
    expect(Math.abs(value.dataSync()[0]! - ref.out.get('loss')!.data[0]!)).toBeLessThanOrEqual(1e-5)
    compareGrads(model, grads, ref.grads)
    tf.dispose([logProbs, next.h, next.c, data, targets, value, hidden.h, hidden.c, ...Object.values(grads)])
    model.dispose()
  })
})
})
