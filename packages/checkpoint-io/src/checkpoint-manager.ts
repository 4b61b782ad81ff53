import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { removeStaleTempFiles, writeFileAtomic } from './atomic-write'
import { type CheckpointFormat, encodeCheckpoint } from './checkpoint'
import type { CheckpointValue } from './host-tensor'

export interface CheckpointManagerOptions {
  dir: string
  /** Keep a copy `checkpoint_epoch<N>` when the saved state's `epoch` (epochs completed) is in this list. */
  keepEpochs?: readonly number[]
  /** 'safetensors' (default): `checkpoint.safetensors`; 'pth': `checkpoint.pth.tar` like imagenet main.py. */
  format?: CheckpointFormat
}

export interface SavedPaths {
  checkpoint: string
  best?: string
  snapshot?: string
}

/**
 * imagenet `main.py`'s `save_checkpoint` with atomic writes: every save replaces `checkpoint.*`, a best result also
 * becomes `model_best.*` (shutil.copyfile in main.py; a hard link here), and epochs in `keepEpochs` are kept as
 * `checkpoint_epoch<N>.*`. Stale temp files of killed writers are removed when the manager starts.
 *
 * @example
 * const ckpts = await CheckpointManager.open({ dir: 'runs/exp1', keepEpochs: [5, 10] })
 * await ckpts.save({ epoch: 5, arch: 'resnet18', state_dict, best_acc1: 40.1 }, { isBest: true })
 * // runs/exp1/checkpoint.safetensors, model_best.safetensors, checkpoint_epoch5.safetensors
 */
export class CheckpointManager {
  readonly dir: string
  readonly format: CheckpointFormat
  readonly keepEpochs: readonly number[]

  private constructor(options: CheckpointManagerOptions) {
    this.dir = options.dir
    this.format = options.format ?? 'safetensors'
    this.keepEpochs = options.keepEpochs ?? []
  }

  /** Creates the folder if needed and cleans temp files left by killed writers. */
  static async open(options: CheckpointManagerOptions): Promise<CheckpointManager> {
    await mkdir(options.dir, { recursive: true })
    await removeStaleTempFiles(options.dir)
    return new CheckpointManager(options)
  }

  get extension(): string {
    return this.format === 'pth' ? '.pth.tar' : '.safetensors'
  }

  /** `checkpoint`, `model_best` or `checkpoint_epoch5` inside `dir`, with the format's extension. */
  path(name: string): string {
    return join(this.dir, name + this.extension)
  }

  /** The checkpoint to resume from, if one exists. */
  latest(): string | undefined {
    const p = this.path('checkpoint')
    return existsSync(p) ? p : undefined
  }

  /**
   * Saves `state` as `checkpoint`, and as `model_best` / `checkpoint_epoch<N>` when asked. The copies are in place before
   * `checkpoint` is replaced, so a run resumed from `checkpoint` never misses the best result of the save it resumes after.
   */
  async save(state: Record<string, CheckpointValue | undefined> & { epoch: number }, options: { isBest?: boolean } = {}): Promise<SavedPaths> {
    const saved: SavedPaths = { checkpoint: this.path('checkpoint') }
    if (options.isBest) saved.best = this.path('model_best')
    if (this.keepEpochs.includes(state.epoch)) saved.snapshot = this.path(`checkpoint_epoch${state.epoch}`)
    const copies = [saved.best, saved.snapshot].filter((p): p is string => p !== undefined)
    await writeFileAtomic(saved.checkpoint, encodeCheckpoint(state, this.format), { copies })
    return saved
  }
}
