import * as tf from '@tensorflow/tfjs-core'
import { loadCheckpoint, saveCheckpoint } from '@tinylab/checkpoint-io'
import { initBackend } from '@tinylab/multi-device'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { GCNNModel } from './gcnn-model'
import { buildLanguageModel, loadLanguageModel, type ModelArgs, ModelArgsError, saveLanguageModel } from './language-model'
import { RNNModel } from './rnn-model'
import { TransformerModel } from './transformer-model'

const ARGS: ModelArgs = { model: 'LSTM', ntokens: 11, emsize: 6, nhid: 6, nlayers: 2, nhead: 2, dropout: 0.2, tied: false, seed: 3 }
const tmp = mkdtempSync(path.join(tmpdir(), 'language-model-'))

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

describe('buildLanguageModel: main.py flags to a model', () => {
  it('builds the model --model names, with the flags as its config', () => {
    const lstm = buildLanguageModel(ARGS)
    expect(lstm).toBeInstanceOf(RNNModel)
    expect((lstm as RNNModel).config).toMatchObject({ rnnType: 'LSTM', ntoken: 11, ninp: 6, nhid: 6, nlayers: 2, tieWeights: false })
    const transformer = buildLanguageModel({ ...ARGS, model: 'Transformer' })
    expect(transformer).toBeInstanceOf(TransformerModel)
    expect(transformer.config).toMatchObject({ ntoken: 11, ninp: 6, nhead: 2, nhid: 6, nlayers: 2 })
    const gcnn = buildLanguageModel({ ...ARGS, model: 'GCNN' })
    expect(gcnn).toBeInstanceOf(GCNNModel)
    expect((gcnn as GCNNModel).receptiveField).toBe(2 * 3 + 1) // nlayers · (DEFAULT_KERNEL_SIZE − 1) + 1
    for (const m of [lstm, transformer, gcnn]) m.dispose()
  })

  it.each([
    [{ model: 'Transformer', nhead: 4 }, 'argument --nhead: 4 must divide --emsize 6'],
    [{ model: 'GCNN', kernel_size: 0 }, 'argument --kernel-size: invalid value: 0 (must be > 0)'],
    [{ model: 'CNN' }, "argument --model: invalid choice: 'CNN' (choose from 'LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU', 'Transformer', 'GCNN')"],
    [{ tied: true, nhid: 8 }, 'argument --tied: when using the tied flag, nhid (8) must be equal to emsize (6)'],
  ])('%j is a ModelArgsError naming the flag', (change, message) => {
    expect(() => buildLanguageModel({ ...ARGS, ...change })).toThrow(new ModelArgsError(message))
    expect(() => buildLanguageModel({ ...ARGS, ...change })).toThrow(ModelArgsError)
  })
})

describe('saveLanguageModel / loadLanguageModel', () => {
  it.each(['model.pt', 'model.safetensors'])('%s: the rebuilt model gives the same log-probabilities, with the args and extra keys', async (name) => {
    const file = path.join(tmp, name)
    const model = buildLanguageModel({ ...ARGS, model: 'GRU' })
    await saveLanguageModel(file, model, { ...ARGS, model: 'GRU' }, { epoch: 2 })
    const loaded = await loadLanguageModel(file)
    expect(loaded.args).toEqual({ ...ARGS, model: 'GRU' })
    expect(loaded.checkpoint.epoch).toBe(2)
    const ids = tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32')
    const hidden = (model as RNNModel).initHidden(2)
    const want = (model as RNNModel).forward(ids, { training: false, hidden }).logProbs
    const got = (loaded.model as RNNModel).forward(ids, { training: false, hidden }).logProbs
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()))
    // Different seeds draw different weights: the equality above comes from the loaded state dict.
    expect(buildLanguageModel({ ...ARGS, model: 'GRU', seed: 4 }).parameters()[0]?.value.dataSync()).not.toEqual(model.parameters()[0]?.value.dataSync())
    tf.dispose([ids, want, got, hidden.h, hidden.c])
    model.dispose()
    loaded.model.dispose()
  })

  it('a checkpoint without model_args is refused, naming the file', async () => {
    const file = path.join(tmp, 'bare.safetensors')
    await saveCheckpoint(file, { state_dict: await (buildLanguageModel(ARGS) as RNNModel).stateDict() })
    expect(Object.keys(await loadCheckpoint(file))).toEqual(['state_dict'])
    await expect(loadLanguageModel(file)).rejects.toThrow(`${file}: no model_args in this checkpoint`)
  })
})
