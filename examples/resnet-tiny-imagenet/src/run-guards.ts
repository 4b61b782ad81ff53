/**
 * Checks `pnpm resnet train` makes before it trains, so a mistake costs seconds rather than an epoch: the classes of
 * a resumed or pretrained checkpoint against the selection, and every output folder.
 */
import path from 'node:path'
import { checkOutputFile, prepareOutputDir } from '@tinylab/checkpoint-io'
import { UsageError } from '@tinylab/cli-flags'
import { classChange } from '@tinylab/tiny-imagenet-data'

/**
 * Resuming keeps the classifier head, whose row k means the checkpoint's k-th class; a different selection would
 * silently give those rows to other classes. Refuses, naming the flag, the difference and the way to ask for a new head.
 */
export function assertResumeClasses(file: string, saved: string[], selected: string[], flag: string): void {
  const change = classChange(saved, selected)
  if (change === '') return
  throw new UsageError(
    `argument ${flag}: ${file} was trained on ${saved.length} classes and this selection of ${selected.length} ${change}; ` +
      `resuming would relabel them. Train a new head on these classes with --pretrained ${file} instead of --resume`,
  )
}

/**
 * Every folder the run writes to, created and probed before anything else starts (see `prepareOutputDir`); `logdir`
 * undefined for --evaluate, which writes only the cache.
 */
export function prepareRunOutputs(logdir: string | undefined, saveDir: string | undefined, cache: string | undefined): void {
  if (logdir !== undefined) prepareOutputDir(logdir, '--logdir')
  if (saveDir !== undefined) prepareOutputDir(saveDir, '--save-dir')
  // The cache is written after every image is decoded: minutes in, on the real data.
  if (cache !== undefined) prepareOutputDir(path.dirname(path.resolve(cache)), '--cache')
}

/** Room for the checkpoints, once the model's size is known. */
export function checkCheckpointSpace(logdir: string, saveDir: string | undefined, checkpointBytes: number): void {
  // An atomic save writes the new file beside the old one: twice a checkpoint's size (model_best/snapshots are links).
  checkOutputFile(path.join(saveDir ?? logdir, 'checkpoint.safetensors'), saveDir ? '--save-dir' : '--logdir', { expectedBytes: 2 * checkpointBytes })
}
