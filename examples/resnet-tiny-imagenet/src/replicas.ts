/**
 * `--devices N` of `pnpm resnet train`: N data-parallel replicas (multi-device's createDataParallel, DDP semantics)
 * train while the main thread keeps the model used for validation and checkpoints. The main model and its SGD are
 * the single source of truth between epochs: replicas start from them (weights, BN buffers, momentum: resume works
 * unchanged) and hand their state back before every validation and every save.
 */
import * as tf from '@tensorflow/tfjs-core'
import { createDataParallel, type DataParallel, type DataParallelOptimizerState, type Device } from '@tinylab/multi-device'
import type { ResNet, ResNetStem } from '@tinylab/resnet-models'
import type { SGD, SGDStateDict } from '@tinylab/train-loop'

export interface ReplicaSetup {
  devices: number
  device: Device
  arch: string
  numClasses: number
  stem: ResNetStem
  seed: number
  momentum: number
  weightDecay: number
}

/** Starts the replicas from the main model's weights and buffers and the SGD's momentum buffers. */
export async function startReplicas(setup: ReplicaSetup, model: ResNet, sgd: SGD): Promise<DataParallel> {
  const dp = await createDataParallel({
    replicas: setup.devices,
    device: setup.device,
    // resnet-models exports resnet18/34/50(options): the arch name is the export.
    replica: { module: '@tinylab/resnet-models', export: setup.arch, options: { numClasses: setup.numClasses, stem: setup.stem, seed: setup.seed }, from: import.meta.url },
    optimizer: { momentum: setup.momentum, weightDecay: setup.weightDecay },
    // DistributedDataParallel's default: rank 0's BatchNorm running stats are the model's.
    broadcastBuffers: true,
  })
  try {
    await dp.setParameters(model.namedTensors())
    const momentum = toReplicaState(sgd.stateDict())
    if (momentum !== undefined) dp.loadOptimizerStateDict(momentum)
  } catch (error) {
    await dp.dispose()
    throw error
  }
  const b = dp.backends[0]
  console.log(
    `=> data parallel: ${dp.replicas} replicas on ${b?.device ?? setup.device}${b?.threads ? ` (${b.threads} thread${b.threads > 1 ? 's' : ''} each)` : ''}; ` +
      'gradients averaged every step (DistributedDataParallel semantics, BatchNorm statistics per replica)',
  )
  return dp
}

/** Copies the replicas' weights, BN buffers and momentum into the main model and SGD (lr stays the scheduler's). */
export function syncFromReplicas(dp: DataParallel, model: ResNet, sgd: SGD): void {
  dp.assignTo(model.namedTensors())
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
