import type { CheckpointValue, StateDict } from '@tinylab/checkpoint-io'
import { loadCheckpoint, loadStateDict, saveCheckpoint, toStateDict } from '@tinylab/checkpoint-io'
import { RNN_TYPES, RNNModel, TransformerModel } from '@tinylab/transformer-lm'
import type { RnnType } from '@tinylab/transformer-lm'
import { UsageError } from './cli-args'

/** What a checkpoint stores to rebuild the model (nanoGPT's `model_args`): main.py's model flags. */
export interface ModelArgs {
  model: string
  ntokens: number
  emsize: number
  nhid: number
  nlayers: number
  nhead: number
  dropout: number
  tied: boolean
  seed: number
}

export const MODEL_CHOICES = [...RNN_TYPES, 'Transformer'] as const

export type LanguageModel = TransformerModel | RNNModel

/** main.py's model construction, with model.py's checks surfacing as usage errors naming the flags. */
export function buildModel(a: ModelArgs): LanguageModel {
  if (a.model === 'Transformer') {
    if (a.emsize % a.nhead !== 0) throw new UsageError(`argument --nhead: ${a.nhead} must divide --emsize ${a.emsize}`)
    return new TransformerModel({ ntoken: a.ntokens, ninp: a.emsize, nhead: a.nhead, nhid: a.nhid, nlayers: a.nlayers, dropout: a.dropout, seed: a.seed })
  }
  if (!(RNN_TYPES as readonly string[]).includes(a.model)) {
    throw new UsageError(`argument --model: invalid choice: '${a.model}' (choose from ${MODEL_CHOICES.map((c) => `'${c}'`).join(', ')})`)
  }
  if (a.tied && a.nhid !== a.emsize) throw new UsageError(`argument --tied: when using the tied flag, nhid (${a.nhid}) must be equal to emsize (${a.emsize})`)
  return new RNNModel({ rnnType: a.model as RnnType, ntoken: a.ntokens, ninp: a.emsize, nhid: a.nhid, nlayers: a.nlayers, dropout: a.dropout, tieWeights: a.tied, seed: a.seed })
}

/** Atomically writes `{ model_args, state_dict, ... }` (format from the extension: .pt/.pth torch zip, .safetensors). */
export async function saveModel(path: string, model: LanguageModel, args: ModelArgs, extra: Record<string, CheckpointValue> = {}): Promise<void> {
  await saveCheckpoint(path, { model_args: { ...args }, state_dict: await toStateDict(model.namedTensors()), ...extra })
}

/** Reads a checkpoint written by `saveModel` and rebuilds the model it describes. */
export async function loadModel(path: string): Promise<{ model: LanguageModel; args: ModelArgs }> {
  const ckpt = await loadCheckpoint(path)
  const args = ckpt.model_args as unknown as ModelArgs | undefined
  if (args === undefined || typeof args !== 'object' || typeof args.model !== 'string') {
    throw new Error(`${path}: no model_args in this checkpoint (was it written by 'pnpm wordlm train'?)`)
  }
  const model = buildModel(args)
  loadStateDict(model.namedTensors(), ckpt.state_dict as StateDict, { modelName: args.model === 'Transformer' ? 'TransformerModel' : 'RNNModel' })
  return { model, args }
}

/** Loads saved weights into an existing model (main.py reloads the best model before the test evaluation). */
export async function loadWeightsInto(path: string, model: LanguageModel): Promise<void> {
  const ckpt = await loadCheckpoint(path)
  loadStateDict(model.namedTensors(), ckpt.state_dict as StateDict)
}
