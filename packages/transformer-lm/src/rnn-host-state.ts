/**
 * An RNN's hidden state carried between calls of a compiled forward step, which takes its inputs and returns its
 * outputs as tensors read back: the state goes in as trailing inputs (h, then c for an LSTM) and comes back as trailing
 * outputs, and is kept on the host in between (a few KB: [nlayers, batch, nhid]).
 */
import * as tf from '@tensorflow/tfjs-core'
import type { RNNHidden, RNNModel } from './rnn-model'

/** The hidden state among a compiled step's inputs (after `count` leading ones). */
export function hiddenFromInputs(inputs: readonly tf.Tensor[], count: number): RNNHidden {
  const [h, c] = inputs.slice(count) as tf.Tensor3D[]
  return c === undefined ? { h: h as tf.Tensor3D } : { h: h as tf.Tensor3D, c }
}

/** The hidden state as a compiled step's trailing outputs. */
export function hiddenOutputs(hidden: RNNHidden): tf.Tensor[] {
  return hidden.c === undefined ? [hidden.h] : [hidden.h, hidden.c]
}

export class RnnHostState {
  private readonly shape: [number, number, number]
  private values: Float32Array[]

  /** model.py `init_hidden(batch)`: zeros. */
  constructor(model: RNNModel, batch: number) {
    const { nlayers, nhid, rnnType } = model.config
    this.shape = [nlayers, batch, nhid]
    this.values = Array.from({ length: rnnType === 'LSTM' ? 2 : 1 }, () => new Float32Array(nlayers * batch * nhid))
  }

  /** The state as new input tensors (the caller disposes them). */
  tensors(): tf.Tensor3D[] {
    return this.values.map((v) => tf.tensor3d(v, this.shape))
  }

  /** Takes the next state from a call's trailing outputs. */
  update(outputs: readonly (Float32Array | Int32Array)[]): void {
    this.values = outputs.slice(outputs.length - this.values.length) as Float32Array[]
  }
}
