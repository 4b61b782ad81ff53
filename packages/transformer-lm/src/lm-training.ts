import * as tf from '@tensorflow/tfjs-core'
import { type ForwardCompiler, type GradientApplier, nllLoss, trainStepAsync } from '@tinylab/train-loop'
import type { LanguageModel } from './language-model'
import { hiddenFromInputs, hiddenOutputs, RnnHostState } from './rnn-host-state'
import { type RNNHidden, RNNModel } from './rnn-model'

/** One chunk of main.py's `get_batch`: token ids `[seqLen, batch]` and the next tokens, flattened `[seqLen · batch]`. */
export interface LmBatch {
  data: tf.Tensor2D
  target: tf.Tensor1D
}

function disposeHidden(hidden: RNNHidden | undefined): void {
  if (hidden) tf.dispose([hidden.h, hidden.c])
}

/** The loss of a batch, and for an RNN the state it hands to the next batch (kept: it outlives the step's tensors). */
function forwardLoss(model: LanguageModel, { data, target }: LmBatch, training: boolean, hidden: RNNHidden | undefined): { loss: tf.Scalar; next?: RNNHidden } {
  if (!(model instanceof RNNModel)) return { loss: nllLoss(model.forward(data, { training }), target) }
  const out = model.forward(data, { training, hidden: hidden as RNNHidden })
  const next = { h: tf.keep(out.hidden.h), ...(out.hidden.c ? { c: tf.keep(out.hidden.c) } : {}) }
  return { loss: nllLoss(out.logProbs, target), next }
}

/** What `lmTrainer` returns: a step that carries an RNN's state from batch to batch. */
export interface LmTrainer {
  /** Starts a new pass (an epoch): the RNN state goes back to zeros for `batchSize` columns. */
  reset(batchSize: number): void
  /** One step (NLL, backward, clip, update); resolves to the batch's loss. */
  step(data: tf.Tensor2D, target: tf.Tensor1D): Promise<number>
  dispose(): void
}

/**
 * word_language_model main.py's training step with truncated backpropagation through time: the NLL of the model's
 * log-probabilities, `clip_grad_norm_(clip)`, then `optimizer`'s update. An RNN carries its hidden state from one batch
 * to the next (detached: tfjs keeps no graph between steps); the Transformer and the GCNN start every batch afresh.
 *
 * ```ts
 * const trainer = lmTrainer(model, new SGD(model.parameters(), { lr: 20 }), 0.25)
 * trainer.reset(20)
 * for (const i of batchStarts(train, 35)) { const { data, target } = getBatch(train, i, 35); await trainer.step(data, target); tf.dispose([data, target]) }
 * trainer.dispose()
 * ```
 */
export function lmTrainer(model: LanguageModel, optimizer: GradientApplier, clip: number): LmTrainer {
  const params = model.parameters()
  let hidden: RNNHidden | undefined
  return {
    reset(batchSize) {
      disposeHidden(hidden)
      hidden = model instanceof RNNModel ? model.initHidden(batchSize) : undefined
    },
    async step(data, target) {
      let next: RNNHidden | undefined
      const { loss } = await trainStepAsync({
        params,
        optimizer,
        clipNorm: clip,
        loss: () => {
          const r = forwardLoss(model, { data, target }, true, hidden)
          next = r.next
          return r.loss
        },
      })
      disposeHidden(hidden)
      hidden = next
      return loss
    },
    dispose() {
      disposeHidden(hidden)
      hidden = undefined
    },
  }
}

/** One batch's mean loss in eval mode, an RNN's state carried from the previous batch (zeros at first). */
interface BatchLoss {
  loss(batch: LmBatch): Promise<number>
  dispose(): void
}

function eagerLoss(model: LanguageModel): BatchLoss {
  let hidden: RNNHidden | undefined
  return {
    async loss(batch) {
      if (model instanceof RNNModel) hidden ??= model.initHidden(batch.data.shape[1])
      let next: RNNHidden | undefined
      const loss = tf.tidy(() => {
        const r = forwardLoss(model, batch, false, hidden)
        next = r.next
        return r.loss
      })
      disposeHidden(hidden)
      hidden = next
      try {
        return (await loss.data())[0] as number
      } finally {
        loss.dispose()
      }
    },
    dispose: () => disposeHidden(hidden),
  }
}

/** The same through `compile`: an RNN's state is an input and an output of the compiled step, kept on the host between batches. */
function compiledLoss(model: LanguageModel, compile: ForwardCompiler): BatchLoss {
  if (!(model instanceof RNNModel)) {
    const step = compile(([data, target]) => [nllLoss(model.forward(data as tf.Tensor2D, { training: false }), target as tf.Tensor)], { name: 'eval' })
    return { loss: async (b) => ((await step.run([b.data, b.target]))[0] as Float32Array)[0] as number, dispose: () => step.dispose() }
  }
  const step = compile((inputs) => {
    const out = model.forward(inputs[0] as tf.Tensor2D, { training: false, hidden: hiddenFromInputs(inputs, 2) })
    return [nllLoss(out.logProbs, inputs[1] as tf.Tensor), ...hiddenOutputs(out.hidden)]
  }, { name: 'eval' })
  let state: RnnHostState | undefined
  return {
    async loss(batch) {
      state ??= new RnnHostState(model, batch.data.shape[1])
      const hidden = state.tensors()
      try {
        const outputs = await step.run([batch.data, batch.target, ...hidden])
        state.update(outputs)
        return (outputs[0] as Float32Array)[0] as number
      } finally {
        tf.dispose(hidden)
      }
    },
    dispose: () => step.dispose(),
  }
}

/**
 * main.py's `evaluate` over `batches` (in eval mode; an RNN carries its state from batch to batch, starting from zeros):
 * the sum of seqLen × mean loss and the number of rows, so `total / rows` is the mean NLL per token. Resolves to
 * undefined when `stop()` turned true after a batch. The caller owns the batches (a generator may dispose each after
 * it is used). With `compile` (e.g. @tinylab/webgpu-backend's `compileForward`) each batch shape's forward pass and
 * loss run as a compiled plan, made for this call and freed at its end.
 */
export async function evaluateLm(
  model: LanguageModel,
  batches: Iterable<LmBatch>,
  options: { stop?: () => boolean; compile?: ForwardCompiler } = {},
): Promise<{ total: number; rows: number } | undefined> {
  const batchLoss = options.compile ? compiledLoss(model, options.compile) : eagerLoss(model)
  let total = 0
  let rows = 0
  try {
    for (const batch of batches) {
      total += batch.data.shape[0] * (await batchLoss.loss(batch))
      rows += batch.data.shape[0]
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (options.stop?.()) return undefined
    }
    return { total, rows }
  } finally {
    batchLoss.dispose()
  }
}
