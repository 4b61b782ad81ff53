/** Anything with a mutable learning rate: SGD, or a plain `{ lr }` for a hand-written update. */
export interface HasLr {
  lr: number
}

/** The keys every torch 1.13 epoch scheduler's `state_dict()` has, besides its own hyper-parameters. */
export interface LRSchedulerState {
  base_lrs: number[]
  last_epoch: number
  _step_count: number
  verbose: boolean
  _get_lr_called_within_step: boolean
  _last_lr: number[]
}

/** What torch's `_LRScheduler` base keeps for every scheduler: the optimizer, its initial lr and the step counters. */
abstract class EpochLRScheduler {
  protected baseLr: number
  protected lastEpoch = 0
  // torch counts the step its constructor takes.
  protected stepCount = 1

  constructor(protected readonly optimizer: HasLr) {
    this.baseLr = optimizer.lr
  }

  getLastLr(): number {
    return this.optimizer.lr
  }

  protected commonState(): LRSchedulerState {
    return {
      base_lrs: [this.baseLr],
      last_epoch: this.lastEpoch,
      _step_count: this.stepCount,
      verbose: false,
      _get_lr_called_within_step: false,
      _last_lr: [this.optimizer.lr],
    }
  }

  protected loadCommonState(state: LRSchedulerState): void {
    this.baseLr = state.base_lrs[0] ?? this.baseLr
    this.lastEpoch = state.last_epoch
    this.stepCount = state._step_count
  }
}

/** torch.optim.lr_scheduler.StepLR's `state_dict()` (torch 1.13 keys). */
export interface StepLRState extends LRSchedulerState {
  step_size: number
  gamma: number
}

/**
 * torch's StepLR: multiplies lr by `gamma` every `stepSize` calls of `step()` (torch's chainable form, so it composes
 * with other changes to lr exactly as torch does). Construction counts as torch's initial step (last_epoch 0).
 *
 * ```ts
 * const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 })
 * for (let epoch = 0; epoch < 90; epoch++) { trainOneEpoch(); sched.step() }
 * ```
 */
export class StepLR extends EpochLRScheduler {
  readonly stepSize: number
  readonly gamma: number

  constructor(optimizer: HasLr, options: { stepSize: number; gamma?: number }) {
    super(optimizer)
    if (!(Number.isInteger(options.stepSize) && options.stepSize > 0)) {
      throw new Error(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`)
    }
    this.stepSize = options.stepSize
    this.gamma = options.gamma ?? 0.1
  }

  step(): void {
    this.stepCount++
    this.lastEpoch++
    if (this.lastEpoch % this.stepSize === 0) this.optimizer.lr = this.optimizer.lr * this.gamma
  }

  stateDict(): StepLRState {
    return { step_size: this.stepSize, gamma: this.gamma, ...this.commonState() }
  }

  loadStateDict(state: StepLRState): void {
    if (state.step_size !== this.stepSize || state.gamma !== this.gamma) {
      throw new Error(`StepLR.loadStateDict: state has step_size=${state.step_size}, gamma=${state.gamma}; here ${this.stepSize}, ${this.gamma}`)
    }
    this.loadCommonState(state)
  }
}

/** torch.optim.lr_scheduler.CosineAnnealingLR's `state_dict()` (torch 1.13 keys). */
export interface CosineAnnealingLRState extends LRSchedulerState {
  T_max: number
  eta_min: number
}

/**
 * torch's CosineAnnealingLR with its recursive (chainable) update, so the values match torch's to the last bit of
 * float64 arithmetic rather than the closed form's.
 *
 * ```ts
 * const sched = new CosineAnnealingLR(opt, { tMax: 90 })
 * ```
 */
export class CosineAnnealingLR extends EpochLRScheduler {
  readonly tMax: number
  readonly etaMin: number

  constructor(optimizer: HasLr, options: { tMax: number; etaMin?: number }) {
    super(optimizer)
    if (!(options.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be > 0, got ${options.tMax}`)
    this.tMax = options.tMax
    this.etaMin = options.etaMin ?? 0
  }

  step(): void {
    this.stepCount++
    this.lastEpoch++
    const e = this.lastEpoch
    const T = this.tMax
    const lr = this.optimizer.lr
    if ((e - 1 - T) % (2 * T) === 0) {
      this.optimizer.lr = lr + ((this.baseLr - this.etaMin) * (1 - Math.cos(Math.PI / T))) / 2
    } else {
      this.optimizer.lr =
        ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - this.etaMin) + this.etaMin
    }
  }

  stateDict(): CosineAnnealingLRState {
    return { T_max: this.tMax, eta_min: this.etaMin, ...this.commonState() }
  }

  loadStateDict(state: CosineAnnealingLRState): void {
    this.loadCommonState(state)
  }
}

/**
 * word_language_model/main.py's annealing: after each epoch, keep the model if the validation loss is the best so far,
 * else divide lr by `factor` (main.py: `lr /= 4.0`). Note main.py treats a first loss of exactly 0 as "no best yet"
 * (`if not best_val_loss`); we do not copy that quirk.
 *
 * ```ts
 * const plateau = new DivideLrOnPlateau(lrHolder, 4)
 * if (plateau.step(valLoss)) await save()
 * ```
 */
export class DivideLrOnPlateau {
  bestLoss: number | undefined

  constructor(
    private readonly optimizer: HasLr,
    readonly factor = 4,
  ) {}

  /** Returns true when `valLoss` is a new best (save the model); otherwise divides lr. */
  step(valLoss: number): boolean {
    if (this.bestLoss === undefined || valLoss < this.bestLoss) {
      this.bestLoss = valLoss
      return true
    }
    this.optimizer.lr /= this.factor
    return false
  }
}
