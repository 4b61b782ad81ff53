import { Tensor } from '@tensorflow/tfjs-core'
import { type CheckpointValue, HostTensor } from './host-tensor'
import type { TensorLayout } from './layout'
import { hostToTensor, tensorToHost } from './tfjs-state-dict'

/**
 * torch.optim.SGD's `param_groups[i]` as it appears in `optimizer.state_dict()` (torch 1.13 keys): the shape in which
 * train-loop's `SGD` and multi-device's data-parallel optimizer save their hyper-parameters.
 */
export interface SGDParamGroup {
  lr: number
  momentum: number
  dampening: number
  weight_decay: number
  nesterov: boolean
  maximize: boolean
  foreach: null
  differentiable: boolean
  params: number[]
}

/** torch's optimizer state-dict shape with tfjs tensors in TinyLab layout (train-loop's `SGD.stateDict()`). */
export interface TfOptimizerState {
  state: { [index: number]: { [key: string]: Tensor | number | null } }
  param_groups: readonly object[]
}

/**
 * Converts an optimizer state dict whose per-parameter tensors (momentum buffers…) are tfjs tensors in TinyLab layout
 * into PyTorch layout host tensors, using each parameter's layout (`params[i]` is parameter index i, i.e.
 * `model.parameters()` in the order given to the optimizer). The result can go into a checkpoint's `optimizer`.
 *
 * @example
 * const optimizer = await optimizerStateToTorch(sgd.stateDict(), model.parameters())
 * await ckpts.save({ epoch, arch, state_dict, best_acc1, optimizer }, { isBest })
 */
export async function optimizerStateToTorch(dict: TfOptimizerState, params: readonly { name: string; layout: TensorLayout }[]): Promise<CheckpointValue> {
  const state: Record<string, CheckpointValue> = {}
  for (const [index, entry] of Object.entries(dict.state)) {
    const p = params[Number(index)]
    if (!p) throw new Error(`optimizerStateToTorch: state for parameter index ${index}, but only ${params.length} parameters were given`)
    const out: Record<string, CheckpointValue> = {}
    for (const [key, v] of Object.entries(entry)) out[key] = v instanceof Tensor ? await tensorToHost(v, p.layout, `${p.name} ${key}`) : v
    state[index] = out
  }
  return { state, param_groups: JSON.parse(JSON.stringify(dict.param_groups)) as CheckpointValue }
}

/**
 * The inverse of `optimizerStateToTorch`: PyTorch-layout host tensors (from `loadCheckpoint`, or a torch.save'd
 * `optimizer.state_dict()`) become tfjs tensors in TinyLab layout, ready for `SGD.loadStateDict`. Caller disposes them.
 * `T` names the optimizer's state-dict type; only the tensors are checked here, the optimizer's `loadStateDict` checks
 * its hyper-parameters.
 *
 * @example
 * sgd.loadStateDict(optimizerStateFromTorch<SGDStateDict>(ckpt.optimizer ?? null, model.parameters()))
 */
export function optimizerStateFromTorch<T extends object = TfOptimizerState>(value: CheckpointValue, params: readonly { name: string; layout: TensorLayout }[]): T {
  const dict = value as { state?: Record<string, Record<string, CheckpointValue>>; param_groups?: Record<string, unknown>[] }
  if (typeof dict !== 'object' || dict === null || typeof dict.state !== 'object' || !Array.isArray(dict.param_groups))
    throw new Error('optimizerStateFromTorch: expected { state, param_groups } (torch optimizer.state_dict())')
  const state: TfOptimizerState['state'] = {}
  for (const [index, entry] of Object.entries(dict.state)) {
    const p = params[Number(index)]
    if (!p) throw new Error(`optimizerStateFromTorch: state for parameter index ${index}, but the model has ${params.length} parameters`)
    const out: Record<string, Tensor | number | null> = {}
    for (const [key, v] of Object.entries(entry)) {
      if (v instanceof HostTensor) out[key] = hostToTensor(v, v.shape.length === 0 ? 'same' : p.layout, undefined, `${p.name} ${key}`)
      else if (v === null || typeof v === 'number') out[key] = v
      else throw new Error(`optimizerStateFromTorch: unsupported value for state[${index}].${key}`)
    }
    state[Number(index)] = out
  }
  const result: TfOptimizerState = { state, param_groups: dict.param_groups }
  return result as T
}
