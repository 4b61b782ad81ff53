/**
 * The study's training budget, the same for every model: main.py's loop (batchify, chunks of --bptt, plain SGD after
 * clip_grad_norm_, the LSTM's state carried from batch to batch) for --epochs, or --max-batches batches, at a fixed
 * learning rate (no validation pass, so no `lr /= 4`). Progress with rate and ETA goes to stderr.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ConsoleProgress } from '@tinylab/metrics-logger'
import { SGD } from '@tinylab/train-loop'
import { type LanguageModel, lmTrainer } from '@tinylab/transformer-lm'
import { batchStarts, getBatch, type TokenMatrix } from '@tinylab/wikitext-data'
import { loadavg } from 'node:os'

export interface TrainBudget {
  epochs: number
  /** Stop after this many batches in all (0: the whole --epochs). */
  maxBatches: number
  batchSize: number
  bptt: number
  lr: number
  clip: number
}

export interface TrainStats {
  batches: number
  tokens: number
  seconds: number
  /** Batches in one full epoch at this batch size and bptt. */
  batchesPerEpoch: number
  /** Mean training loss over the last tenth of the batches. */
  finalLoss: number
  /** The machine's 1-minute load average when training started and ended: other work slows the times above. */
  loadAverage: [number, number]
  interrupted: boolean
}

/** How many training batches the budget amounts to on the batchified training split. */
export function budgetBatches(source: TokenMatrix, budget: Pick<TrainBudget, 'epochs' | 'maxBatches' | 'bptt'>): number {
  const perEpoch = batchStarts(source, budget.bptt).length
  return budget.maxBatches > 0 ? Math.min(budget.maxBatches, budget.epochs * perEpoch) : budget.epochs * perEpoch
}

/** Trains on `source`, the training split batchified into `budget.batchSize` columns. */
export async function trainForBudget(model: LanguageModel, source: TokenMatrix, budget: TrainBudget, label: string, interrupted: () => boolean): Promise<TrainStats> {
  const starts = batchStarts(source, budget.bptt)
  const total = budgetBatches(source, budget)
  const sgd = new SGD(model.parameters(), { lr: budget.lr })
  const trainer = lmTrainer(model, sgd, budget.clip)
  const progress = new ConsoleProgress({ total, label: `train ${label}` })
  const loadAtStart = loadavg()[0] as number
  const losses: number[] = []
  let tokens = 0
  let seconds = 0
  for (let b = 0; b < total && !interrupted(); b++) {
    const epochBatch = b % starts.length
    if (epochBatch === 0) trainer.reset(budget.batchSize)
    const { data, target } = getBatch(source, starts[epochBatch] as number, budget.bptt)
    const t0 = performance.now()
    const loss = await trainer.step(data, target)
    seconds += (performance.now() - t0) / 1000
    tokens += target.size
    tf.dispose([data, target])
    losses.push(loss)
    progress.tick(1, `loss ${loss.toFixed(2)}`)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  progress.done()
  trainer.dispose()
  sgd.dispose()
  const tail = losses.slice(-Math.max(1, Math.ceil(losses.length / 10)))
  return {
    batches: losses.length,
    tokens,
    seconds,
    batchesPerEpoch: starts.length,
    finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    loadAverage: [loadAtStart, loadavg()[0] as number],
    interrupted: interrupted(),
  }
}

/**
 * Training tokens/s of each model, timed in the same run under the same conditions: `rounds` rounds that alternate the
 * models, each timing `steps` steps of a freshly built model after one warm-up step; the best round counts. Unlike the
 * training time, which depends on what else ran during each model's epoch, these figures compare the models fairly.
 */
export async function timeTrainingSteps(build: Record<string, () => LanguageModel>, source: TokenMatrix, budget: Pick<TrainBudget, 'batchSize' | 'bptt' | 'lr' | 'clip'>, steps: number, rounds: number): Promise<Record<string, number>> {
  const starts = batchStarts(source, budget.bptt)
  const best: Record<string, number> = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, make] of Object.entries(build)) {
      const model = make()
      const sgd = new SGD(model.parameters(), { lr: budget.lr })
      const trainer = lmTrainer(model, sgd, budget.clip)
      trainer.reset(budget.batchSize)
      let tokens = 0
      let t0 = 0
      for (let b = 0; b <= steps; b++) {
        if (b === 1) t0 = performance.now()
        const { data, target } = getBatch(source, starts[b % starts.length] as number, budget.bptt)
        await trainer.step(data, target)
        if (b > 0) tokens += target.size
        tf.dispose([data, target])
      }
      const rate = tokens / ((performance.now() - t0) / 1000)
      best[name] = Math.max(best[name] ?? 0, rate)
      trainer.dispose()
      sgd.dispose()
      model.dispose()
      console.error(`timing round ${round + 1}/${rounds}: ${name} ${Math.round(rate)} tokens/s (load ${(loadavg()[0] as number).toFixed(2)})`)
    }
  }
  return best
}
