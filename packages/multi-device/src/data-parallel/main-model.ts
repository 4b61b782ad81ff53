/**
 * Data parallelism beside a main-thread model: N replicas train while the main thread keeps the model used for
 * validation and checkpoints. The main model and its SGD are the single source of truth between epochs: the replicas
 * start from them (weights, BN buffers, momentum, so a resumed run continues unchanged) and hand their state back
 * before every validation and save. It lives here because both examples need it and it only speaks DataParallel's and
 * train-loop's SGD's state-dict layouts.
 */
import * as tf from '@tensorflow/tfjs-core'
import type { SGD, SGDStateDict } from '@tinylab/train-loop'
import { createDataParallel, type DataParallel, type DataParallelOptimizerState, type DataParallelOptions } from './data-parallel'

/** The main model's tensors by name (`model.namedTensors()`, or `model.parameters()` for a model without buffers). */
export type MainModelTensors = ReadonlyArray<{ name: string; value: tf.Variable }>

/**
 * `createDataParallel(options)`, then the replicas take the main model's weights and buffers and `sgd`'s momentum
 * buffers (when it has any). On a failure the workers are stopped before the error propagates.
 */
export async function startReplicasFrom(options: DataParallelOptions, model: MainModelTensors, sgd?: SGD): Promise<DataParallel> {
  const dp = await createDataParallel(options)
  try {
    await dp.setParameters(model)
    const momentum = sgd && toReplicaState(sgd.stateDict())
    if (momentum !== undefined) dp.loadOptimizerStateDict(momentum)
  } catch (error) {
    await dp.dispose()
    throw error
  }
  return dp
}

/** Copies the replicas' weights, BN buffers and momentum into the main model and `sgd` (its lr stays the scheduler's). */
export function syncFromReplicas(dp: DataParallel, model: MainModelTensors, sgd: SGD): void {
  dp.assignTo(model)
  const state = dp.optimizerStateDict()
  const lr = sgd.lr
  try {
    // SGD.loadStateDict copies the buffers; the state dict's own tensors are disposed below.
    if (Object.keys(state.state).length > 0) sgd.loadStateDict(state)
  } finally {
    sgd.lr = lr
    tf.dispose(Object.values(state.state).map((s) => s.momentum_buffer))
  }
}

/** SGD's torch-layout state as the replicas take it: undefined before the first step (or with momentum 0). */
function toReplicaState(dict: SGDStateDict): DataParallelOptimizerState | undefined {
  const state: DataParallelOptimizerState['state'] = {}
  for (const [index, entry] of Object.entries(dict.state)) {
    if (entry.momentum_buffer === null) return undefined
    state[Number(index)] = { momentum_buffer: entry.momentum_buffer }
  }
  return Object.keys(state).length === 0 ? undefined : { state, param_groups: dict.param_groups }
}
