/**
 * A training run as a checkpoint and back: imagenet main.py's keys (epoch, arch, state_dict, best_acc1, optimizer) plus
 * what an exact resume needs (scheduler, the batch within the epoch, the step counter, the interrupted epoch's meters).
 * It lives in train-loop because these are the loop's own objects (SGD, schedulers, MeterSums) in checkpoint-io's
 * torch layout, and one encoding keeps every command that saves a run readable by every command that resumes one.
 */
import * as tf from '@tensorflow/tfjs-core'
import {
  HostTensor,
  loadStateDict,
  optimizerStateFromTorch,
  optimizerStateToTorch,
  toStateDict,
  type CheckpointValue,
  type NamedTensor,
  type TrainingState,
} from '@tinylab/checkpoint-io'
import type { MeterSums } from './epochs'
import type { LRSchedulerState } from './lr-scheduler'
import type { SGD, SGDStateDict } from './sgd'

/** Where a run stands: what the loop continues from. */
export interface LoopPosition {
  /** The epoch to run next (main.py saves `epoch + 1` after a complete one). */
  epoch: number
  /** Next batch of `epoch` (0 when the epoch is complete). */
  batch: number
  /** Training steps taken in the whole run. */
  globalStep: number
  bestAcc1: number
  /** Train meters of an interrupted epoch, so its logged averages equal an uninterrupted run's. */
  meters: MeterSums | undefined
}

/** An epoch LR scheduler (StepLR, CosineAnnealingLR): its state is saved under its `type` name. */
export interface SavedScheduler {
  type: string
  scheduler: { stateDict(): LRSchedulerState; loadStateDict(state: never): void }
}

/** What is saved and restored: the model's tensors (`model.namedTensors()`), its parameters, SGD and scheduler. */
export interface TrainingParts extends SavedScheduler {
  model: readonly NamedTensor[]
  params: readonly NamedTensor[]
  optimizer: SGD
  /** The model's name in load errors ("ResNet"). */
  modelName?: string
}

function isRecord(v: CheckpointValue | undefined): v is Record<string, CheckpointValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof HostTensor) && !(v instanceof Uint8Array)
}

function num(v: CheckpointValue | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback
}

/** The `type` of the scheduler a checkpoint was saved with ('step', 'cosine', ...), if it has one. */
export function savedSchedulerType(ckpt: TrainingState): string | undefined {
  const type = isRecord(ckpt.scheduler) ? ckpt.scheduler.type : undefined
  return typeof type === 'string' ? type : undefined
}

/**
 * The checkpoint of `parts` at `position`: main.py's keys, then the resume keys, then `extra` (arch goes there too, in
 * main.py's place after epoch).
 *
 * ```ts
 * await saveCheckpoint('checkpoint.pth.tar', await encodeTrainingState(parts, position, { arch: 'resnet18' }))
 * ```
 */
export async function encodeTrainingState(
  parts: TrainingParts,
  position: LoopPosition,
  { arch, ...extra }: { arch: string } & Record<string, CheckpointValue>,
): Promise<Record<string, CheckpointValue> & { epoch: number }> {
  return {
    epoch: position.epoch,
    arch,
    state_dict: await toStateDict(parts.model),
    best_acc1: position.bestAcc1,
    optimizer: await optimizerStateToTorch(parts.optimizer.stateDict(), parts.params),
    scheduler: { type: parts.type, ...parts.scheduler.stateDict() },
    batch: position.batch,
    global_step: position.globalStep,
    meters: position.meters ? { ...position.meters } : null,
    ...extra,
  }
}

/**
 * Loads a checkpoint's weights, momentum and schedule into `parts` and returns the position it continues from.
 * Throws when the checkpoint's scheduler is of another type than `parts.type` (its state would not fit).
 */
export function restoreTrainingState(ckpt: TrainingState, parts: TrainingParts): LoopPosition {
  loadStateDict(parts.model, ckpt.state_dict, { modelName: parts.modelName })
  if (ckpt.optimizer !== undefined) {
    const opt = optimizerStateFromTorch<SGDStateDict>(ckpt.optimizer, parts.params)
    parts.optimizer.loadStateDict(opt)
    tf.dispose(Object.values(opt.state).flatMap((s) => (s.momentum_buffer ? [s.momentum_buffer] : [])))
  }
  if (isRecord(ckpt.scheduler)) {
    const type = savedSchedulerType(ckpt)
    if (type !== parts.type) throw new Error(`the checkpoint's scheduler is '${String(type)}', this run's '${parts.type}'`)
    // The type matches the scheduler given; its loadStateDict checks the keys it needs.
    parts.scheduler.loadStateDict(ckpt.scheduler as never)
  }
  const m = ckpt.meters
  return {
    epoch: ckpt.epoch,
    batch: num(ckpt.batch, 0),
    globalStep: num(ckpt.global_step, 0),
    bestAcc1: ckpt.best_acc1,
    meters: isRecord(m) ? { loss: num(m.loss, 0), acc1: num(m.acc1, 0), acc5: num(m.acc5, 0), count: num(m.count, 0) } : undefined,
  }
}
