/**
 * pytorch/examples word_language_model/model.py's RNNModel: embedding → dropout → nn.LSTM / nn.GRU / nn.RNN (tanh or
 * relu) → dropout → linear decoder → log_softmax. State-dict keys: `encoder.weight`, `rnn.weight_ih_l0`,
 * `rnn.weight_hh_l0`, `rnn.bias_ih_l0`, `rnn.bias_hh_l0`, … per layer, `decoder.weight`, `decoder.bias`.
 */
import * as tf from '@tensorflow/tfjs-core'
import { type LoadStateDictResult, type NamedTensor, type StateDict, type StateDictSource, loadStateDict, toStateDict } from '@tinylab/checkpoint-io'
import { dropout, Registry, uniform } from './_layers'
import { logSoftmax } from '@tinylab/train-loop'
import { SeededRng } from '@tinylab/seeded-rng'

export type RnnType = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU'
export const RNN_TYPES: readonly RnnType[] = ['LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU']

export interface RNNConfig {
  rnnType: RnnType // main.py --model
  ntoken: number // vocabulary size
  ninp: number // embedding size (--emsize)
  nhid: number // hidden units per layer (--nhid)
  nlayers: number // stacked layers (--nlayers)
  dropout?: number // model.py default 0.5: after the embedding, between layers (nn.LSTM dropout=) and before the decoder
  tieWeights?: boolean // share the embedding with the decoder (Press & Wolf 2016; Inan et al. 2016); needs nhid == ninp
  seed?: number
}

/** LSTM: `{ h, c }`, others `{ h }`; each [nlayers, batch, nhid]. */
export interface RNNHidden {
  h: tf.Tensor3D
  c?: tf.Tensor3D
}

interface RnnLayer {
  wIh: tf.Variable // [in, gates·nhid] (torch weight_ih_l{k} [gates·nhid, in])
  wHh: tf.Variable // [nhid, gates·nhid]
  bIh: tf.Variable
  bHh: tf.Variable
}

const GATES: Record<RnnType, number> = { LSTM: 4, GRU: 3, RNN_TANH: 1, RNN_RELU: 1 }

/**
 * ```ts
 * const model = new RNNModel({ rnnType: 'LSTM', ntoken: 100, ninp: 16, nhid: 16, nlayers: 2, dropout: 0.2 })
 * let hidden = model.initHidden(4)
 * const { logProbs, hidden: next } = model.forward(ids, { training: false, hidden }) // logProbs [S, 4, 100]
 * ```
 */
export class RNNModel {
  readonly modelType = 'RNN' as const
  readonly config: Required<RNNConfig>
  readonly rng: SeededRng
  private readonly registry = new Registry()
  private readonly encoder: tf.Variable // [ntoken, ninp]
  private readonly layers: RnnLayer[] = []
  private readonly decoderW: tf.Variable // [nhid, ntoken], or the embedding [ntoken, ninp] when tied
  private readonly decoderB: tf.Variable

  constructor(config: RNNConfig) {
    const c: Required<RNNConfig> = { dropout: 0.5, tieWeights: false, seed: 1111, ...config }
    if (!RNN_TYPES.includes(c.rnnType)) {
      throw new Error(`RNNModel: an invalid option for --model was supplied ('${String(c.rnnType)}'), options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']`)
    }
    for (const key of ['ntoken', 'ninp', 'nhid', 'nlayers'] as const) {
      if (!(Number.isInteger(c[key]) && c[key] > 0)) throw new Error(`RNNModel: ${key} must be a positive integer, got ${c[key]}`)
    }
    if (c.tieWeights && c.nhid !== c.ninp) throw new Error('When using the tied flag, nhid must be equal to emsize')
    this.config = c
    this.rng = new SeededRng(c.seed)
    const r = this.registry
    const { ntoken, ninp, nhid } = c
    this.encoder = r.add('encoder.weight', uniform(this.rng, [ntoken, ninp], 0.1))
    const g = GATES[c.rnnType]
    const k = 1 / Math.sqrt(nhid) // nn.RNNBase.reset_parameters: every weight and bias U(±1/√hidden_size)
    for (let l = 0; l < c.nlayers; l++) {
      const inSize = l === 0 ? ninp : nhid
      this.layers.push({
        wIh: r.add(`rnn.weight_ih_l${l}`, uniform(this.rng, [inSize, g * nhid], k), 'linear-io'),
        wHh: r.add(`rnn.weight_hh_l${l}`, uniform(this.rng, [nhid, g * nhid], k), 'linear-io'),
        bIh: r.add(`rnn.bias_ih_l${l}`, uniform(this.rng, [g * nhid], k)),
        bHh: r.add(`rnn.bias_hh_l${l}`, uniform(this.rng, [g * nhid], k)),
      })
    }
    if (c.tieWeights) {
      this.decoderW = this.encoder
      r.alias('decoder.weight', this.encoder, 'same')
    } else {
      this.decoderW = r.add('decoder.weight', uniform(this.rng, [nhid, ntoken], 0.1), 'linear-io')
    }
    this.decoderB = r.add('decoder.bias', tf.zeros([ntoken]))
  }

  namedTensors(): NamedTensor[] {
    return [...this.registry.entries]
  }

  /**
   * torch's `model.state_dict()`: every parameter and buffer under its PyTorch key, copied to host memory in PyTorch
   * layout, ready for `saveCheckpoint` or `torch.load`.
   */
  stateDict(): Promise<StateDict> {
    return toStateDict(this.namedTensors())
  }

  /**
   * torch's `model.load_state_dict(sd, strict)`: `source` is a state dict or a checkpoint holding one under `state_dict`
   * (whatever `loadCheckpoint` returns). Missing and unexpected keys are errors unless `strict: false`; shape and dtype
   * mismatches always are; every problem is listed in one error and nothing is assigned then.
   *
   * ```ts
   * model.loadStateDict(await loadCheckpoint('checkpoint.pth.tar'))
   * ```
   */
  loadStateDict(source: StateDictSource, options: { strict?: boolean } = {}): LoadStateDictResult {
    return loadStateDict(this.namedTensors(), source, { strict: options.strict ?? true, modelName: 'RNNModel' })
  }

  parameters(): NamedTensor[] {
    return this.registry.parameters()
  }

  /** model.py `init_hidden(bsz)`: zeros. */
  initHidden(batch: number): RNNHidden {
    const { nlayers, nhid } = this.config
    const h = tf.zeros([nlayers, batch, nhid]) as tf.Tensor3D
    return this.config.rnnType === 'LSTM' ? { h, c: tf.zeros([nlayers, batch, nhid]) as tf.Tensor3D } : { h }
  }

  /** The input embeddings [S, B, ninp] of int32 ids [S, B] (`encoder(input)`): what `forwardEmbedded` reads. */
  embed(input: tf.Tensor2D): tf.Tensor3D {
    if (input.dtype !== 'int32') throw new Error(`RNNModel.forward: input must be int32 token ids, got ${input.dtype}`)
    return tf.gather(this.encoder, input) as tf.Tensor3D
  }

  /**
   * `model(input, hidden)`: log-probabilities [seqLen, batch, ntoken] (model.py returns them flattened to
   * [seqLen·batch, ntoken]; main.py flattens either way) and the last hidden state. tfjs records no graph across
   * calls, so the returned hidden is already "repackaged" (main.py's repackage_hidden).
   */
  forward(input: tf.Tensor2D, options: { training: boolean; hidden: RNNHidden }): { logProbs: tf.Tensor3D; hidden: RNNHidden } {
    const emb = this.embed(input)
    try {
      return this.forwardEmbedded(emb, options)
    } finally {
      emb.dispose()
    }
  }

  /** `forward` from input embeddings [S, B, ninp] (as `embed` returns): gradients with respect to them measure context use. */
  forwardEmbedded(emb: tf.Tensor3D, options: { training: boolean; hidden: RNNHidden }): { logProbs: tf.Tensor3D; hidden: RNNHidden } {
    const [S, B] = emb.shape
    const ntoken = this.config.ntoken
    const result = tf.tidy(() => {
      const { out, h, c } = this.run(emb, options)
      return { logProbs: tf.reshape(this.decode(out), [S, B, ntoken]) as tf.Tensor3D, h, c }
    })
    return { logProbs: result.logProbs, hidden: result.c === undefined ? { h: result.h } : { h: result.h, c: result.c } }
  }

  /** Log-probabilities of the token after the last position, [B, ntoken], decoding that position only; and the last hidden state. */
  forwardLastEmbedded(emb: tf.Tensor3D, options: { training: boolean; hidden: RNNHidden }): { logProbs: tf.Tensor2D; hidden: RNNHidden } {
    const [S, B] = emb.shape
    const result = tf.tidy(() => {
      const { out, h, c } = this.run(emb, options)
      return { logProbs: this.decode(tf.slice(out, [(S - 1) * B, 0], [B, -1])), h, c }
    })
    return { logProbs: result.logProbs, hidden: result.c === undefined ? { h: result.h } : { h: result.h, c: result.c } }
  }

  /** Embedding dropout, the stacked layers and the output dropout: [S·B, nhid] features and the last hidden state. */
  private run(emb: tf.Tensor3D, options: { training: boolean; hidden: RNNHidden }): { out: tf.Tensor2D; h: tf.Tensor3D; c?: tf.Tensor3D } {
    const [S, B] = emb.shape
    const { nhid, rnnType } = this.config
    const training = options.training
    const p = this.config.dropout
    let x = tf.reshape(dropout(emb, p, training, this.rng), [S * B, -1]) as tf.Tensor2D // [S·B, in]
    const hs: tf.Tensor2D[] = []
    const cs: tf.Tensor2D[] = []
    this.layers.forEach((layer, l) => {
      const h0 = tf.squeeze(tf.slice(options.hidden.h, [l, 0, 0], [1, B, nhid]), [0]) as tf.Tensor2D
      const c0 = options.hidden.c && (tf.squeeze(tf.slice(options.hidden.c, [l, 0, 0], [1, B, nhid]), [0]) as tf.Tensor2D)
      const { out, h, c } = this.runLayer(x, S, layer, h0, c0)
      hs.push(h)
      if (c) cs.push(c)
      // nn.LSTM(dropout=p): on every layer's output except the last, in training only.
      x = l < this.layers.length - 1 ? dropout(out, p, training, this.rng) : out
    })
    const out = dropout(x, p, training, this.rng) // [S·B, nhid]
    const h = tf.stack(hs) as tf.Tensor3D
    return rnnType === 'LSTM' ? { out, h, c: tf.stack(cs) as tf.Tensor3D } : { out, h }
  }

  private decode(y: tf.Tensor2D): tf.Tensor2D {
    return logSoftmax(tf.add(tf.matMul(y, this.decoderW, false, this.config.tieWeights), this.decoderB))
  }

  /** One layer over the sequence: the input projection for all steps at once, then the recurrence step by step. */
  private runLayer(x: tf.Tensor2D, S: number, layer: RnnLayer, h0: tf.Tensor2D, c0: tf.Tensor2D | undefined) {
    const rnnType = this.config.rnnType
    const xProj = tf.add(tf.matMul(x, layer.wIh), layer.bIh) // [S·B, gates·nhid]
    // One split, not S slices: a slice's gradient is a zero-padded copy of all of xProj, and the tape keeps every
    // step's until the backward pass ends (S² memory: over 2 GB at bptt 128, batch 20); split's gradient is one concat.
    const steps = tf.split(xProj, S, 0) as tf.Tensor2D[]
    let h = h0
    let c = c0
    const outs: tf.Tensor2D[] = []
    for (let t = 0; t < S; t++) {
      // A scope per step frees the gate intermediates at once (tensors the gradient tape saved stay alive), so an
      // evaluation over a long context holds O(S) outputs, not every step's gates.
      const next = tf.tidy(() => this.cell(steps[t] as tf.Tensor2D, h, c, layer))
      h = next.h
      c = next.c
      outs.push(h)
    }
    return { out: tf.concat(outs, 0) as tf.Tensor2D, h, c: rnnType === 'LSTM' ? c : undefined }
  }

  /** One time step: the input projection xt [B, gates·nhid] and the previous state give the next state. */
  private cell(xt: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D | undefined, layer: RnnLayer): { h: tf.Tensor2D; c?: tf.Tensor2D } {
    const rnnType = this.config.rnnType
    const ht = tf.add(tf.matMul(h, layer.wHh), layer.bHh) as tf.Tensor2D
    if (rnnType === 'LSTM') {
      // torch gate order: input, forget, cell, output.
      const [i, f, g, o] = tf.split(tf.add(xt, ht), 4, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]
      const cNext: tf.Tensor2D = tf.add(tf.mul(tf.sigmoid(f), c as tf.Tensor2D), tf.mul(tf.sigmoid(i), tf.tanh(g)))
      return { h: tf.mul(tf.sigmoid(o), tf.tanh(cNext)), c: cNext }
    }
    if (rnnType === 'GRU') {
      // torch: r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1 - z) ⊙ n + z ⊙ h.
      const [xr, xz, xn] = tf.split(xt, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]
      const [hr, hz, hn] = tf.split(ht, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]
      const r = tf.sigmoid(tf.add(xr, hr))
      const z = tf.sigmoid(tf.add(xz, hz))
      const n = tf.tanh(tf.add(xn, tf.mul(r, hn)))
      return { h: tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D }
    }
    const pre = tf.add(xt, ht)
    return { h: (rnnType === 'RNN_TANH' ? tf.tanh(pre) : tf.relu(pre)) as tf.Tensor2D }
  }

  dispose(): void {
    this.registry.dispose()
  }
}
