import type { CheckpointValue } from '@tinylab/checkpoint-io'
import { loadCheckpoint, loadStateDict, saveCheckpoint, toStateDict } from '@tinylab/checkpoint-io'
import { GCNNModel } from './gcnn-model'
import { RNN_TYPES, RNNModel } from './rnn-model'
import type { RnnType } from './rnn-model'
import { TransformerModel } from './transformer-model'

/**
 * The model flags of word_language_model's main.py (`--model`, `--emsize`, …, under their argparse names): what a
 * checkpoint stores as `model_args` (nanoGPT's name) to rebuild the model it holds.
 */
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
  /** GCNN only (--kernel-size); checkpoints of the other models may lack it. */
  kernel_size?: number
}

export type LanguageModel = TransformerModel | RNNModel | GCNNModel

/** main.py's `--model` choices, plus the GCNN. */
export const LANGUAGE_MODELS = [...RNN_TYPES, 'Transformer', 'GCNN'] as const

/** The GCNN's default convolution width: with 2 layers a receptive field of 7 tokens. */
export const DEFAULT_KERNEL_SIZE = 4

/**
 * Model args that model.py would refuse. The message names the flag as argparse does (`argument --nhead: 3 must divide
 * --emsize 200`): a CLI that takes these args as flags prints it as a usage error.
 */
export class ModelArgsError extends Error {}

/** The class name loadStateDict reports in its errors. */
function className(model: string): string {
  return model === 'Transformer' ? 'TransformerModel' : model === 'GCNN' ? 'GCNNModel' : 'RNNModel'
}

/**
 * main.py's model construction from its flags, with model.py's checks as `ModelArgsError`s.
 *
 * ```ts
 * const model = buildLanguageModel({ model: 'LSTM', ntokens: 100, emsize: 8, nhid: 8, nlayers: 2, nhead: 2, dropout: 0.2, tied: false, seed: 1111 })
 * ```
 */
export function buildLanguageModel(a: ModelArgs): LanguageModel {
  if (a.model === 'Transformer') {
    if (a.emsize % a.nhead !== 0) throw new ModelArgsError(`argument --nhead: ${a.nhead} must divide --emsize ${a.emsize}`)
    return new TransformerModel({ ntoken: a.ntokens, ninp: a.emsize, nhead: a.nhead, nhid: a.nhid, nlayers: a.nlayers, dropout: a.dropout, seed: a.seed })
  }
  if (a.model === 'GCNN') {
    const kernelSize = a.kernel_size ?? DEFAULT_KERNEL_SIZE
    if (!(Number.isInteger(kernelSize) && kernelSize > 0)) throw new ModelArgsError(`argument --kernel-size: invalid value: ${kernelSize} (must be > 0)`)
    return new GCNNModel({ ntoken: a.ntokens, ninp: a.emsize, nhid: a.nhid, nlayers: a.nlayers, kernelSize, dropout: a.dropout, seed: a.seed })
  }
  if (!(RNN_TYPES as readonly string[]).includes(a.model)) {
    throw new ModelArgsError(`argument --model: invalid choice: '${a.model}' (choose from ${LANGUAGE_MODELS.map((c) => `'${c}'`).join(', ')})`)
  }
  if (a.tied && a.nhid !== a.emsize) throw new ModelArgsError(`argument --tied: when using the tied flag, nhid (${a.nhid}) must be equal to emsize (${a.emsize})`)
  return new RNNModel({ rnnType: a.model as RnnType, ntoken: a.ntokens, ninp: a.emsize, nhid: a.nhid, nlayers: a.nlayers, dropout: a.dropout, tieWeights: a.tied, seed: a.seed })
}

/** Atomically writes `{ model_args, state_dict, ...extra }` (format from the extension: .pt/.pth torch zip, .safetensors). */
export async function saveLanguageModel(path: string, model: LanguageModel, args: ModelArgs, extra: Record<string, CheckpointValue> = {}): Promise<void> {
  await saveCheckpoint(path, { model_args: { ...args }, state_dict: await toStateDict(model.namedTensors()), ...extra })
}

/** Reads a checkpoint written by `saveLanguageModel` and rebuilds its model; `checkpoint` is the whole record (extra keys too). */
export async function loadLanguageModel(path: string): Promise<{ model: LanguageModel; args: ModelArgs; checkpoint: Record<string, CheckpointValue> }> {
  const checkpoint = await loadCheckpoint(path)
  const args = checkpoint.model_args as unknown as ModelArgs | undefined
  if (args === undefined || typeof args !== 'object' || typeof args.model !== 'string') {
    throw new Error(`${path}: no model_args in this checkpoint (was it written by 'pnpm wordlm train'?)`)
  }
  const model = buildLanguageModel(args)
  loadStateDict(model.namedTensors(), checkpoint, { modelName: className(args.model) })
  return { model, args, checkpoint }
}
