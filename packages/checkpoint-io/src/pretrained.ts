/**
 * Fine-tuning's load: pretrained weights whose classifier head may not fit the new task. The head is the one part a
 * new task changes, so it is left as initialised when its size differs or the caller asks for it, and everything else
 * must still match exactly. Kept apart from `loadStateDict` (which is strict by design) because it is a policy on top.
 */
import { HostTensor, type CheckpointValue, type StateDict } from './host-tensor'
import { loadStateDict, type NamedTensor } from './tfjs-state-dict'

export interface LoadPretrainedOptions {
  /** Name prefix of the classifier head's tensors: 'fc.' in torchvision's ResNets. */
  head: string
  /** Rows of the model's head: a saved head with another number is left as initialised. */
  numClasses: number
  /** Leave the head as initialised even when its size fits (e.g. it was trained on other classes). */
  replaceHead?: boolean
  /** The file, for errors. */
  file: string
  /** The model's name in load errors ("ResNet"). */
  modelName?: string
}

/** Whether the head was left as initialised, and why; `savedClasses`: the saved head's rows, when it has a bias. */
export interface LoadPretrainedResult {
  headReplaced: 'size' | 'requested' | undefined
  savedClasses?: number
}

/** The tensors of a checkpoint: TinyLab/main.py checkpoints hold them under `state_dict`; torchvision files are one. */
function tensorsOf(value: Readonly<Record<string, CheckpointValue>>, file: string): StateDict {
  const dict = value.state_dict ?? value
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict) || dict instanceof HostTensor || dict instanceof Uint8Array)
    throw new Error(`${file}: no state_dict in the checkpoint`)
  const out: StateDict = {}
  for (const [k, v] of Object.entries(dict)) if (v instanceof HostTensor) out[k] = v
  if (Object.keys(out).length === 0) throw new Error(`${file}: the checkpoint holds no tensors`)
  return out
}

/**
 * Loads `value` (a state dict or a checkpoint holding one) into `named`, the head as initialised when it does not fit
 * or `replaceHead` is set; strict about every other tensor.
 *
 * ```ts
 * const r = loadPretrained(model.namedTensors(), await loadCheckpoint('resnet18.pth'), { head: 'fc.', numClasses: 10, file: 'resnet18.pth' })
 * if (r.headReplaced === 'size') console.log(`head has ${r.savedClasses} classes: re-initialised for 10`)
 * ```
 */
export function loadPretrained(named: readonly NamedTensor[], value: Readonly<Record<string, CheckpointValue>>, o: LoadPretrainedOptions): LoadPretrainedResult {
  const dict = tensorsOf(value, o.file)
  const head = named.filter((t) => t.name.startsWith(o.head))
  const savedClasses = dict[`${o.head}bias`]?.shape[0]
  const sizeMismatch = head.some((t) => {
    const saved = dict[t.name]
    return saved !== undefined && saved.shape[0] !== o.numClasses
  })
  const headReplaced = sizeMismatch ? 'size' : o.replaceHead ? 'requested' : undefined
  if (headReplaced) for (const t of head) delete dict[t.name]
  loadStateDict(named, dict, { strict: headReplaced === undefined, modelName: o.modelName })
  return { headReplaced, savedClasses }
}
