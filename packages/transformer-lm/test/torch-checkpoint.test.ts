import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { PY_LOAD_SAFETENSORS } from '@tinylab/test-utils/safetensors-py'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { RNNModel, TransformerModel } from '../src/index'
import { beforeAll, describe, expect, it } from 'vitest'
import { type StateDict, loadCheckpoint, loadStateDict, readPth, saveCheckpoint, toStateDict } from '@tinylab/checkpoint-io'

const reason = requireTorchOrSkipReason()
const dir = mkdtempSync(join(tmpdir(), 'ckpt-wordlm-'))
// transformer-lm's transcription of pytorch/examples word_language_model/model.py (shared, not copied).
const MODEL_PY = readFileSync(join(REPO_ROOT, 'packages/transformer-lm/test/reference_model.py'), 'utf8')
const S = 7
const B = 3
const NTOKEN = 50

// Reference state dicts (torch.save(model.state_dict())), a fixed batch, eval log-probs; and main.py's own
// `torch.save(model, f)` of the whole module, which a safe loader must refuse.
const WRITE = `
import torch, sys, json
${MODEL_PY}
out = sys.argv[1]
torch.manual_seed(0)
models = {'Transformer': TransformerModel(${NTOKEN}, 16, 2, 24, 2, 0.2), 'LSTM': RNNModel('LSTM', ${NTOKEN}, 16, 12, 2, 0.2)}
data = torch.randint(0, ${NTOKEN}, (${S}, ${B}))
open(out + '/data.bin', 'wb').write(data.to(torch.int32).numpy().tobytes())
for name, model in models.items():
    model.eval()
    with torch.no_grad():
        logp = model(data) if name == 'Transformer' else model(data, model.init_hidden(${B}))[0]
    open(out + '/%s_logp.bin' % name, 'wb').write(logp.reshape(-1).numpy().tobytes())
    torch.save(model.state_dict(), out + '/%s_ref.pt' % name)
torch.save(models['LSTM'], out + '/whole_module.pt')
print(json.dumps({k: list(m.state_dict().keys()) for k, m in models.items()}))
`

const CHECK = `
import torch, sys, json
${MODEL_PY}
${PY_LOAD_SAFETENSORS}
out, name = sys.argv[1], sys.argv[2]
ref = torch.load(out + '/%s_ref.pt' % name)
data = torch.from_numpy(__import__('numpy').fromfile(out + '/data.bin', dtype='int32').reshape(${S}, ${B})).long()
ours = torch.from_numpy(__import__('numpy').fromfile(out + '/%s_ours_logp.bin' % name, dtype='float32'))
result = {}
for label, sd in [('pth', torch.load(out + '/%s_ours.pth' % name)['state_dict']),
                  ('safetensors', {k: v for k, v in load_safetensors(out + '/%s_ours.safetensors' % name)[0].items() if '/' not in k})]:
    torch.manual_seed(1)
    model = TransformerModel(${NTOKEN}, 16, 2, 24, 2, 0.2) if name == 'Transformer' else RNNModel('LSTM', ${NTOKEN}, 16, 12, 2, 0.2)
    model.load_state_dict(sd, strict=True)
    model.eval()
    with torch.no_grad():
        logp = model(data) if name == 'Transformer' else model(data, model.init_hidden(${B}))[0]
    result[label] = {'unequal': [k for k in ref if not torch.equal(ref[k], sd[k])], 'vs_ours': (logp.reshape(-1) - ours).abs().max().item()}
print(json.dumps(result))
`

describe.skipIf(!!reason)('word_language_model checkpoints (Transformer, LSTM) both directions', () => {
  let keys: Record<string, string[]>
  beforeAll(async () => {
    await initBackend({ device: 'cpu' })
    keys = JSON.parse(await runPython(WRITE, [dir])) as Record<string, string[]>
  })

  it.each(['Transformer', 'LSTM'] as const)('%s: torch state dict -> ours gives torch log-probs; torch loads ours strictly', async (name) => {
    const stateDict = readPth(readFileSync(join(dir, `${name}_ref.pt`)), `${name}_ref.pt`) as StateDict
    expect(Object.keys(stateDict)).toEqual(keys[name])
    const model = name === 'Transformer'
      ? new TransformerModel({ ntoken: NTOKEN, ninp: 16, nhead: 2, nhid: 24, nlayers: 2, dropout: 0.2, seed: 5 })
      : new RNNModel({ rnnType: 'LSTM', ntoken: NTOKEN, ninp: 16, nhid: 12, nlayers: 2, dropout: 0.2, seed: 5 })
    expect(loadStateDict(model.namedTensors(), stateDict)).toEqual({ missingKeys: [], unexpectedKeys: [] })
    const dataRaw = readFileSync(join(dir, 'data.bin'))
    const data = tf.tensor2d(new Int32Array(dataRaw.buffer, dataRaw.byteOffset, S * B), [S, B], 'int32')
    const logp = model instanceof TransformerModel
      ? model.forward(data, { training: false })
      : model.forward(data, { training: false, hidden: model.initHidden(B) }).logProbs
    const ours = logp.dataSync() as Float32Array
    const refRaw = readFileSync(join(dir, `${name}_logp.bin`))
    // float32 on both sides, different reduction orders: 1e-4 as the bar.
    expect(maxAbsDiff(ours, new Float32Array(refRaw.buffer, refRaw.byteOffset, refRaw.byteLength / 4))).toBeLessThanOrEqual(1e-4)
    writeFileSync(join(dir, `${name}_ours_logp.bin`), ours)
    tf.dispose([logp, data])

    const state = { epoch: 1, arch: name, state_dict: await toStateDict(model.namedTensors()), best_acc1: 0 }
    await saveCheckpoint(join(dir, `${name}_ours.pth`), state)
    await saveCheckpoint(join(dir, `${name}_ours.safetensors`), state)
    const verdict = JSON.parse(await runPython(CHECK, [dir, name])) as Record<'pth' | 'safetensors', { unequal: string[]; vs_ours: number }>
    for (const label of ['pth', 'safetensors'] as const) {
      expect(verdict[label].unequal, label).toEqual([])
      expect(verdict[label].vs_ours, label).toBeLessThanOrEqual(1e-4)
    }
    expect(Object.keys((await loadCheckpoint(join(dir, `${name}_ours.safetensors`))).state_dict as StateDict)).toEqual(keys[name])
    model.dispose()
  })

  it("refuses main.py's torch.save(model) of the whole module, naming the class", () => {
    expect(() => readPth(readFileSync(join(dir, 'whole_module.pt')), 'model.pt')).toThrow(/model\.pt: refusing to load global '__main__\.RNNModel'/)
  })
})
