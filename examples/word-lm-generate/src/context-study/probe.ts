/**
 * One view of the three model kinds for the measurements: embed ids, predict the token after the last position from
 * embeddings with no state carried in (the LSTM starts from zeros), and the model's full context window.
 */
import * as tf from '@tensorflow/tfjs-core'
import { GCNNModel, type LanguageModel, RNNModel } from '@tinylab/transformer-lm'

export type StudyModelName = 'Transformer' | 'LSTM' | 'GCNN'
export const STUDY_MODELS: readonly StudyModelName[] = ['Transformer', 'LSTM', 'GCNN']

/** How much longer than --bptt the LSTM's "full window" context is: its state has no window, so a long context stands in. */
export const LSTM_FULL_WINDOW_FACTOR = 4

export interface ContextProbe {
  name: StudyModelName
  model: LanguageModel
  /** Context tokens the "full window" row gives the model: Transformer --bptt, GCNN its receptive field, LSTM 4·--bptt. */
  fullWindow: number
  /** Why fullWindow is what it is, for the report. */
  windowNote: string
  /** The GCNN's receptive field (positions a prediction can depend on); undefined for the others. */
  receptiveField: number | undefined
  embed(ids: tf.Tensor2D): tf.Tensor3D
  /** Eval-mode log-probabilities [B, ntoken] of the token after the last row of embeddings [S, B, emsize]. */
  lastLogProbs(emb: tf.Tensor3D): tf.Tensor2D
}

// The LSTM runs a long context in segments of this many steps, the state carried across (the same arithmetic): one
// run over k steps costs superlinearly in k on wasm (200 targets: 4 s at k = 64, 87 s at k = 128).
const LSTM_SEGMENT = 32

function lstmLastLogProbs(model: RNNModel, emb: tf.Tensor3D): tf.Tensor2D {
  // tidy frees the zero state and each segment's state; tensors the gradient tape saved stay alive.
  return tf.tidy(() => {
    const [S, B] = emb.shape
    let hidden = model.initHidden(B)
    let logProbs: tf.Tensor2D | undefined
    for (let start = 0; start < S; start += LSTM_SEGMENT) {
      const segment = tf.slice(emb, [start, 0, 0], [Math.min(LSTM_SEGMENT, S - start), B, -1])
      ;({ logProbs, hidden } = model.forwardLastEmbedded(segment, { training: false, hidden }))
    }
    return logProbs as tf.Tensor2D
  })
}

export function probeFor(name: StudyModelName, model: LanguageModel, bptt: number): ContextProbe {
  const embed = (ids: tf.Tensor2D) => model.embed(ids)
  if (model instanceof RNNModel) {
    const fullWindow = LSTM_FULL_WINDOW_FACTOR * bptt
    return {
      name,
      model,
      fullWindow,
      windowNote: `no window (a carried state); ${fullWindow} tokens (${LSTM_FULL_WINDOW_FACTOR}·bptt) stand in for it`,
      receptiveField: undefined,
      embed,
      lastLogProbs: (emb) => lstmLastLogProbs(model, emb),
    }
  }
  if (model instanceof GCNNModel) {
    const rf = model.receptiveField
    return {
      name,
      model,
      fullWindow: rf,
      windowNote: `its receptive field, ${model.config.nlayers}·(${model.config.kernelSize}−1)+1 = ${rf} tokens`,
      receptiveField: rf,
      embed,
      lastLogProbs: (emb) => model.forwardLastEmbedded(emb, { training: false }),
    }
  }
  return {
    name,
    model,
    fullWindow: bptt,
    windowNote: `the sequence length it was trained on (bptt ${bptt})`,
    receptiveField: undefined,
    embed,
    lastLogProbs: (emb) => model.forwardLastEmbedded(emb, { training: false }),
  }
}
