/**
 * The study's training budget, the same for every model: main.py's loop (batchify, chunks of --bptt, plain SGD after
 * clip_grad_norm_, the LSTM's state carried from batch to batch) for --epochs, or --max-batches batches, at a fixed
 * learning rate (no validation pass, so no `lr /= 4`). Progress with rate and ETA goes to stderr.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ConsoleProgress } from '@tinylab/metrics-logger'
import { SGD, trainStepAsync } from '@tinylab/train-loop'
import { nllLoss, RNNModel } from '@tinylab/transformer-lm'
import type { RNNHidden } from '@tinylab/transformer-lm'
import { batchify, batchStarts, getBatch } from '@tinylab/wikitext-data'
import type { LanguageModel } from '../model-io'

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
  const params = model.parameters()
  const sgd = new SGD(params, { lr: budget.lr })
  const progress = new ConsoleProgress({ total, label: `train ${label}` })
  const losses: number[] = []
  let tokens = 0
  let seconds = 0
  let hidden: RNNHidden | undefined
  for (let b = 0; b < total && !interrupted(); b++) {
    const epochBatch = b % starts.length
    if (epochBatch === 0 && model instanceof RNNModel) {
      if (hidden) tf.dispose([hidden.h, hidden.c])
      hidden = model.initHidden(budget.batchSize)
    }
    const { data, target } = getBatch(source, starts[epochBatch] as number, budget.bptt)
    const t0 = performance.now()
    let next: RNNHidden | undefined
    const { loss } = await trainStepAsync({
      params,
      optimizer: sgd,
      clipNorm: budget.clip,
      loss: () => {
        if (model instanceof RNNModel) {
          const out = model.forward(data, { training: true, hidden: hidden! })
          next = { h: tf.keep(out.hidden.h), ...(out.hidden.c ? { c: tf.keep(out.hidden.c) } : {}) }
          return nllLoss(out.logProbs, target)
        }
        return nllLoss(model.forward(data, { training: true }), target)
      },
    })
    seconds += (performance.now() - t0) / 1000
    if (hidden) tf.dispose([hidden.h, hidden.c])
    hidden = next
    tokens += target.size
    tf.dispose([data, target])
    losses.push(loss)
    progress.tick(1, `loss ${loss.toFixed(2)}`)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  progress.done()
  if (hidden) tf.dispose([hidden.h, hidden.c])
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
