/**
 * The study's training budget, the same for every model: main.py's loop (batchify, chunks of --bptt, plain SGD after
 * clip_grad_norm_, the LSTM's state carried from batch to batch) for --epochs, or --max-batches batches, at a fixed
 * learning rate (no validation pass, so no `lr /= 4`). Progress with rate and ETA goes to stderr.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ConsoleProgress } from '@tinylab/metrics-logger'
import { SGD } from '@tinylab/train-loop'
import { type LanguageModel, lmTrainer } from '@tinylab/transformer-lm'
import { batchify, batchStarts, getBatch } from '@tinylab/wikitext-data'

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
  interrupted: boolean
}

export async function trainForBudget(model: LanguageModel, train: Int32Array, budget: TrainBudget, label: string, interrupted: () => boolean): Promise<TrainStats> {
  const source = batchify(train, budget.batchSize)
  const starts = batchStarts(source, budget.bptt)
  const total = budget.maxBatches > 0 ? Math.min(budget.maxBatches, budget.epochs * starts.length) : budget.epochs * starts.length
  const sgd = new SGD(model.parameters(), { lr: budget.lr })
  const trainer = lmTrainer(model, sgd, budget.clip)
  const progress = new ConsoleProgress({ total, label: `train ${label}` })
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
    interrupted: interrupted(),
  }
}
