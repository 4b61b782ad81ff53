import type { CheckpointValue, StateDict } from '@tinylab/checkpoint-io'
import { loadCheckpoint, loadStateDict, saveCheckpoint, toStateDict } from '@tinylab/checkpoint-io'
import { GCNNModel, RNN_TYPES, RNNModel, TransformerModel } from '@tinylab/transformer-lm'
import type { RnnType } from '@tinylab/transformer-lm'
import { UsageError } from '@tinylab/cli-flags'

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
  /** GCNN only (--kernel-size); checkpoints of the other models may lack it. */
  kernel_size?: number
}

export const MODEL_CHOICES = [...RNN_TYPES, 'Transformer', 'GCNN'] as const

/** The GCNN's default convolution width: with --nlayers 2 a receptive field of 7 tokens. */
export const DEFAULT_KERNEL_SIZE = 4

export type LanguageModel = TransformerModel | RNNModel | GCNNModel

/** The class name loadStateDict reports in its errors. */
function className(model: string): string {
  return model === 'Transformer' ? 'TransformerModel' : model === 'GCNN' ? 'GCNNModel' : 'RNNModel'
}

/** main.py's model construction, with model.py's checks surfacing as usage errors naming the flags. */
export function buildModel(a: ModelArgs): LanguageModel {
  if (a.model === 'Transformer') {
    if (a.emsize % a.nhead !== 0) throw new UsageError(`argument --nhead: ${a.nhead} must divide --emsize ${a.emsize}`)
    return new TransformerModel({ ntoken: a.ntokens, ninp: a.emsize, nhead: a.nhead, nhid: a.nhid, nlayers: a.nlayers, dropout: a.dropout, seed: a.seed })
  }
  if (a.model === 'GCNN') {
    const kernelSize = a.kernel_size ?? DEFAULT_KERNEL_SIZE
    if (!(Number.isInteger(kernelSize) && kernelSize > 0)) throw new UsageError(`argument --kernel-size: invalid value: ${kernelSize} (must be > 0)`)
    return new GCNNModel({ ntoken: a.ntokens, ninp: a.emsize, nhid: a.nhid, nlayers: a.nlayers, kernelSize, dropout: a.dropout, seed: a.seed })
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

/** Reads a checkpoint written by `saveModel` and rebuilds the model it describes; `checkpoint` is the whole record (its extra keys too). */
export async function loadModel(path: string): Promise<{ model: LanguageModel; args: ModelArgs; checkpoint: Record<string, CheckpointValue> }> {
  const ckpt = await loadCheckpoint(path)
  const args = ckpt.model_args as unknown as ModelArgs | undefined
  if (args === undefined || typeof args !== 'object' || typeof args.model !== 'string') {
    throw new Error(`${path}: no model_args in this checkpoint (was it written by 'pnpm wordlm train'?)`)
  }
  const model = buildModel(args)
  loadStateDict(model.namedTensors(), ckpt.state_dict as StateDict, { modelName: className(args.model) })
  return { model, args, checkpoint: ckpt }
}

/** Loads saved weights into an existing model (main.py reloads the best model before the test evaluation). */
export async function loadWeightsInto(path: string, model: LanguageModel): Promise<void> {
  const ckpt = await loadCheckpoint(path)
  loadStateDict(model.namedTensors(), ckpt.state_dict as StateDict)
}
