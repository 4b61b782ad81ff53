/**
 * word_language_model main.py's step and evaluation, shared by `train` and `context-study`: NLL on the model's
 * log-probabilities, the RNN state carried from batch to batch (truncated BPTT), the others starting every batch afresh.
 */
import * as tf from '@tensorflow/tfjs-core'
import { type GradientApplier, trainStepAsync } from '@tinylab/train-loop'
import { nllLoss, RNNModel, type RNNHidden } from '@tinylab/transformer-lm'
import { batchStarts, getBatch, type TokenMatrix } from '@tinylab/wikitext-data'
import type { LanguageModel } from './model-io'

function disposeHidden(hidden: RNNHidden | undefined): void {
  if (hidden) tf.dispose([hidden.h, hidden.c])
}

/** The loss of a batch, and for an RNN the state it hands to the next batch (kept: it outlives the step's tensors). */
function forwardLoss(model: LanguageModel, data: tf.Tensor2D, target: tf.Tensor1D, training: boolean, hidden: RNNHidden | undefined): { loss: tf.Scalar; next?: RNNHidden } {
  if (!(model instanceof RNNModel)) return { loss: nllLoss(model.forward(data, { training }), target) }
  const out = model.forward(data, { training, hidden: hidden as RNNHidden })
  const next = { h: tf.keep(out.hidden.h), ...(out.hidden.c ? { c: tf.keep(out.hidden.c) } : {}) }
  return { loss: nllLoss(out.logProbs, target), next }
}

/** main.py's training step (clip_grad_norm_, then the update); `reset` starts a new epoch's RNN state. */
export function lmTrainer(model: LanguageModel, optimizer: GradientApplier, clip: number) {
  const params = model.parameters()
  let hidden: RNNHidden | undefined
  return {
    reset(batchSize: number): void {
      disposeHidden(hidden)
      hidden = model instanceof RNNModel ? model.initHidden(batchSize) : undefined
    },
    /** One step; returns the batch's loss. */
    async step(data: tf.Tensor2D, target: tf.Tensor1D): Promise<number> {
      let next: RNNHidden | undefined
      const { loss } = await trainStepAsync({
        params,
        optimizer,
        clipNorm: clip,
        loss: () => {
          const r = forwardLoss(model, data, target, true, hidden)
          next = r.next
          return r.loss
        },
      })
      disposeHidden(hidden)
      hidden = next
      return loss
    },
    dispose(): void {
      disposeHidden(hidden)
      hidden = undefined
    },
  }
}

/**
 * main.py's `evaluate` over `starts` (chunks of `bptt` rows): the sum of seqLen x loss and the number of rows, or
 * undefined when `stop` ended it early.
 */
export async function evaluateLm(model: LanguageModel, source: TokenMatrix, bptt: number, options: { starts?: number[]; stop?: () => boolean } = {}): Promise<{ total: number; rows: number } | undefined> {
  let hidden = model instanceof RNNModel ? model.initHidden(source.shape[1]) : undefined
  let total = 0
  let rows = 0
  try {
    for (const i of options.starts ?? batchStarts(source, bptt)) {
      const { data, target } = getBatch(source, i, bptt)
      let next: RNNHidden | undefined
      const loss = tf.tidy(() => {
        const r = forwardLoss(model, data, target, false, hidden)
        next = r.next
        return r.loss
      })
      disposeHidden(hidden)
      hidden = next
      total += data.shape[0] * ((await loss.data())[0] as number)
      rows += data.shape[0]
      tf.dispose([loss, data, target])
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (options.stop?.()) return undefined
    }
    return { total, rows }
  } finally {
    disposeHidden(hidden)
  }
}
