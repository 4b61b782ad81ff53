/**
 * imagenet main.py's epoch loop with exact resume: train, validate, step the schedule, remember the best accuracy and
 * save, epoch after epoch, and on a stop request (Ctrl-C) save the position reached instead, mid-epoch or
 * mid-validation. It lives in train-loop so that the order of these steps, which resume depends on, is written once.
 */
import type { MeterSums, TrainEpochResult } from './epochs'
import type { LoopPosition } from './training-state'

export interface RunEpochsOptions {
  /** Where the run starts. Updated in place: `bestAcc1` here, `globalStep` by the caller's per-step hook. */
  position: LoopPosition
  /** Epochs in the whole run (main.py's `--epochs`): the loop ends before this one. */
  epochs: number
  /** One training epoch from `startBatch` with the meters of the batches before it; `total` is its batch count. */
  train(epoch: number, startBatch: number, sums: MeterSums | undefined): Promise<TrainEpochResult & { total: number }>
  /** One validation pass; undefined when it was stopped. */
  validate(): Promise<{ loss: number; acc1: number } | undefined>
  scheduler: { step(): void }
  /** The learning rate now: the one an epoch trains with is read before it starts. */
  lr(): number
  /** Saves the run at `position`: batch 0 after a complete epoch (`isBest`: its validation is the best so far). */
  save(position: LoopPosition, isBest: boolean): Promise<void>
  /** After a complete epoch was saved, e.g. to log its scalars. */
  onEpochEnd?(epoch: number, trained: TrainEpochResult, val: { loss: number; acc1: number }, lr: number): void
  /** Checked after training and after each complete epoch. */
  stop(): boolean
}

/** How the run ended: all epochs done, or stopped (and saved) during training, during validation or after an epoch. */
export type RunEpochsResult = { stopped: undefined } | { stopped: 'training' | 'validation' | 'after-epoch'; epoch: number; batch: number }

/**
 * Runs epochs `position.epoch` .. `epochs - 1`, the first from `position.batch`. A run stopped during training saves its
 * next batch and meters; one stopped during validation saves batch = total (training done, validation redone on
 * resume); either way the epoch and the schedule do not advance.
 *
 * ```ts
 * const r = await runEpochs({ position, epochs: 90, train, validate, scheduler, lr: () => sgd.lr, save, stop: () => ctrlC.requested })
 * if (r.stopped) console.log(`stopped at epoch ${r.epoch}, batch ${r.batch}`)
 * ```
 */
export async function runEpochs(o: RunEpochsOptions): Promise<RunEpochsResult> {
  const first = o.position.epoch
  for (let epoch = first; epoch < o.epochs; epoch++) {
    const epochLr = o.lr()
    const trained = await o.train(epoch, epoch === first ? o.position.batch : 0, o.position.meters)
    const stoppedAt = { ...o.position, epoch, batch: trained.batch, meters: trained.sums }
    if (o.stop() && trained.batch < trained.total) {
      await o.save(stoppedAt, false)
      return { stopped: 'training', epoch, batch: trained.batch }
    }
    const val = await o.validate()
    if (val === undefined) {
      await o.save(stoppedAt, false)
      return { stopped: 'validation', epoch, batch: trained.batch }
    }
    o.scheduler.step()
    const isBest = val.acc1 > o.position.bestAcc1
    o.position.bestAcc1 = Math.max(val.acc1, o.position.bestAcc1)
    await o.save({ ...o.position, epoch: epoch + 1, batch: 0, meters: undefined }, isBest)
    o.onEpochEnd?.(epoch, trained, val, epochLr)
    if (o.stop()) return { stopped: 'after-epoch', epoch, batch: 0 }
  }
  return { stopped: undefined }
}
