/**
 * pytorch/examples word_language_model/model.py's TransformerModel, read top to bottom: positional encoding, one
 * encoder layer (nn.TransformerEncoderLayer, post-LN, ReLU), the model. In model.py TransformerModel subclasses
 * nn.Transformer(d_model=ninp, nhead, dim_feedforward=nhid, num_encoder_layers=nlayers), so it inherits nn.Transformer's
 * defaults: dropout 0.1 inside every encoder layer, a final LayerNorm (`encoder.norm`), and Xavier-uniform init of every
 * matrix in the encoder; its state-dict keys are `encoder.layers.N.…`, `encoder.norm.…`, `decoder.…` (the Linear that
 * replaces nn.Transformer's decoder), `pos_encoder.pe`, `input_emb.weight`, in that order.
 */
import * as tf from '@tensorflow/tfjs-core'
import { type LoadStateDictResult, type NamedTensor, type StateDict, type StateDictSource, loadStateDict, toStateDict } from '@tinylab/checkpoint-io'
import { dropout, linear, Registry, uniform } from './_layers'
import { layerNorm, maskedSoftmax } from './fused-ops'
import { logSoftmax } from '@tinylab/train-loop'
import { SeededRng } from '@tinylab/seeded-rng'

export interface TransformerConfig {
  ntoken: number // vocabulary size: rows of the embedding, columns of the decoder
  ninp: number // embedding size (main.py --emsize); must divide by nhead
  nhead: number // attention heads (main.py --nhead)
  nhid: number // feed-forward width (main.py --nhid)
  nlayers: number // encoder layers (main.py --nlayers)
  dropout?: number // model.py default 0.5; main.py passes --dropout (0.2): the positional-encoding dropout only
  layerDropout?: number // nn.Transformer's own default 0.1, used inside every encoder layer
  maxLen?: number // rows of the positional table (model.py 5000)
  seed?: number // weight init and dropout draws
}

export interface ForwardOptions {
  training: boolean
  /**
   * Causal mask (model.py `has_mask`, default true; generate.py passes false), or an additive [seqLen, seqLen] mask
   * of the caller's (0 where a position may attend, -inf where not: e.g. padding keys in compiled generation).
   */
  mask?: boolean | tf.Tensor2D
}

export interface ForwardLastOptions extends ForwardOptions {
  /** The position to decode, an int32 tensor of one element (an input of a compiled step, unlike a number); default the last. */
  position?: tf.Tensor
}

interface EncoderLayer {
  inProjW: tf.Variable // [E, 3E] (torch in_proj_weight [3E, E])
  inProjB: tf.Variable
  outProjW: tf.Variable // [E, E]
  outProjB: tf.Variable
  linear1W: tf.Variable // [E, nhid]
  linear1B: tf.Variable
  linear2W: tf.Variable // [nhid, E]
  linear2B: tf.Variable
  norm1W: tf.Variable
  norm1B: tf.Variable
  norm2W: tf.Variable
  norm2B: tf.Variable
}

/** PositionalEncoding's table, float32 like torch: pe[pos, 0, 2i] = sin(pos·d_i), pe[pos, 0, 2i+1] = cos(pos·d_i). */
function positionalTable(maxLen: number, d: number): tf.Tensor {
  const pe = new Float32Array(maxLen * d)
  const scale = Math.fround(-Math.log(10000.0) / d)
  for (let i = 0; i < d; i += 2) {
    const div = Math.fround(Math.exp(Math.fround(i * scale)))
    for (let pos = 0; pos < maxLen; pos++) {
      const angle = Math.fround(pos * div)
      pe[pos * d + i] = Math.sin(angle)
      if (i + 1 < d) pe[pos * d + i + 1] = Math.cos(angle)
    }
  }
  return tf.tensor3d(pe, [maxLen, 1, d])
}

/**
 * The word_language_model Transformer: input int32 token ids [seqLen, batch] (PyTorch's layout), output
 * log-probabilities [seqLen, batch, ntoken].
 *
 * ```ts
 * const model = new TransformerModel({ ntoken: 33278, ninp: 200, nhead: 2, nhid: 200, nlayers: 2, dropout: 0.2 })
 * const logProbs = model.forward(tf.tensor2d([[1], [2]], [2, 1], 'int32'), { training: false }) // [2, 1, 33278]
 * ```
 */
export class TransformerModel {
  readonly modelType = 'Transformer' as const
  readonly config: Required<TransformerConfig>
  readonly rng: SeededRng
  private readonly registry = new Registry()
  private readonly layers: EncoderLayer[] = []
  private readonly normW: tf.Variable
  private readonly normB: tf.Variable
  private readonly decoderW: tf.Variable // [ninp, ntoken]
  private readonly decoderB: tf.Variable
  private readonly pe: tf.Variable // [maxLen, 1, ninp]
  private readonly inputEmb: tf.Variable // [ntoken, ninp]
  private readonly masks = new Map<number, tf.Tensor2D>()

  constructor(config: TransformerConfig) {
    const c: Required<TransformerConfig> = { dropout: 0.5, layerDropout: 0.1, maxLen: 5000, seed: 1111, ...config }
    for (const key of ['ntoken', 'ninp', 'nhead', 'nhid', 'nlayers'] as const) {
      if (!(Number.isInteger(c[key]) && c[key] > 0)) throw new Error(`TransformerModel: ${key} must be a positive integer, got ${c[key]}`)
    }
    if (c.ninp % c.nhead !== 0) {
      throw new Error(`TransformerModel: emsize (ninp=${c.ninp}) must be divisible by nhead (${c.nhead}), as nn.MultiheadAttention requires`)
    }
    this.config = c
    this.rng = new SeededRng(c.seed)
    const { ninp: E, nhid, ntoken } = c
    const r = this.registry
    const xavier = (fanOut: number, fanIn: number) => Math.sqrt(6 / (fanIn + fanOut))
    for (let l = 0; l < c.nlayers; l++) {
      const p = `encoder.layers.${l}.`
      // nn.Transformer._reset_parameters: xavier_uniform_ on every >1-D parameter; MHA zeroes its biases;
      // the Linear biases keep nn.Linear's default U(±1/√fan_in).
      this.layers.push({
        inProjW: r.add(p + 'self_attn.in_proj_weight', uniform(this.rng, [E, 3 * E], xavier(3 * E, E)), 'linear-io'),
        inProjB: r.add(p + 'self_attn.in_proj_bias', tf.zeros([3 * E])),
        outProjW: r.add(p + 'self_attn.out_proj.weight', uniform(this.rng, [E, E], xavier(E, E)), 'linear-io'),
        outProjB: r.add(p + 'self_attn.out_proj.bias', tf.zeros([E])),
        linear1W: r.add(p + 'linear1.weight', uniform(this.rng, [E, nhid], xavier(nhid, E)), 'linear-io'),
        linear1B: r.add(p + 'linear1.bias', uniform(this.rng, [nhid], 1 / Math.sqrt(E))),
        linear2W: r.add(p + 'linear2.weight', uniform(this.rng, [nhid, E], xavier(E, nhid)), 'linear-io'),
        linear2B: r.add(p + 'linear2.bias', uniform(this.rng, [E], 1 / Math.sqrt(nhid))),
        norm1W: r.add(p + 'norm1.weight', tf.ones([E])),
        norm1B: r.add(p + 'norm1.bias', tf.zeros([E])),
        norm2W: r.add(p + 'norm2.weight', tf.ones([E])),
        norm2B: r.add(p + 'norm2.bias', tf.zeros([E])),
      })
    }
    this.normW = r.add('encoder.norm.weight', tf.ones([E]))
    this.normB = r.add('encoder.norm.bias', tf.zeros([E]))
    // model.py init_weights: decoder weight U(±0.1), bias 0; input_emb U(±0.1).
    this.decoderW = r.add('decoder.weight', uniform(this.rng, [E, ntoken], 0.1), 'linear-io')
    this.decoderB = r.add('decoder.bias', tf.zeros([ntoken]))
    this.pe = r.add('pos_encoder.pe', positionalTable(c.maxLen, E), 'same', 'buffer')
    this.inputEmb = r.add('input_emb.weight', uniform(this.rng, [ntoken, E], 0.1))
  }

  /** Every state-dict entry, in torch's `state_dict()` order. */
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
    return loadStateDict(this.namedTensors(), source, { strict: options.strict ?? true, modelName: 'TransformerModel' })
  }

  /** `model.parameters()`, in torch's order. */
  parameters(): NamedTensor[] {
    return this.registry.parameters()
  }

  /** model.py `_generate_square_subsequent_mask`: 0 on and below the diagonal, -inf above; cached per length. */
  private causalMask(size: number): tf.Tensor2D {
    let mask = this.masks.get(size)
    if (mask === undefined) {
      const data = new Float32Array(size * size)
      for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) data[i * size + j] = -Infinity
      mask = tf.keep(tf.tensor2d(data, [size, size]))
      this.masks.set(size, mask)
    }
    return mask
  }

  /** The input embeddings [S, B, ninp] of int32 ids [S, B] (`input_emb(src)`, before the √ninp scale): what `forwardEmbedded` reads. */
  embed(src: tf.Tensor2D): tf.Tensor3D {
    if (src.dtype !== 'int32') throw new Error(`TransformerModel.forward: input must be int32 token ids, got ${src.dtype}`)
    return tf.gather(this.inputEmb, src) as tf.Tensor3D
  }

  /** The encoder's output before the decoder: [seqLen·batch, ninp], from input embeddings [S, B, ninp]. */
  private encode(emb: tf.Tensor3D, options: ForwardOptions): tf.Tensor2D {
    const [S, B] = emb.shape
    const { ninp: E, maxLen } = this.config
    if (S > maxLen) throw new Error(`TransformerModel.forward: sequence length ${S} > positional table length ${maxLen}`)
    const training = options.training
    let x = tf.mul(emb, Math.sqrt(E)) as tf.Tensor3D // [S, B, E]
    x = tf.add(x, tf.slice(this.pe, [0, 0, 0], [S, 1, E]))
    x = dropout(x, this.config.dropout, training, this.rng)
    let h = tf.reshape(x, [S * B, E]) as tf.Tensor2D // [S·B, E]
    const mask = options.mask instanceof tf.Tensor ? options.mask : options.mask === false ? undefined : this.causalMask(S)
    const pl = this.config.layerDropout
    for (const layer of this.layers) {
      const attn = this.selfAttention(h, S, B, layer, mask, training)
      h = layerNorm(tf.add(h, dropout(attn, pl, training, this.rng)), layer.norm1W, layer.norm1B)
      const ff = linear(dropout(tf.relu(linear(h, layer.linear1W, layer.linear1B)), pl, training, this.rng), layer.linear2W, layer.linear2B)
      h = layerNorm(tf.add(h, dropout(ff, pl, training, this.rng)), layer.norm2W, layer.norm2B)
    }
    return layerNorm(h, this.normW, this.normB)
  }

  /**
   * nn.MultiheadAttention (torch 1.13 `_scaled_dot_product_attention`), with the heads folded into the batch so each
   * product is one big batched matmul: q/√d · kᵀ + mask → softmax → dropout → · v.
   */
  private selfAttention(h: tf.Tensor2D, S: number, B: number, layer: EncoderLayer, mask: tf.Tensor2D | undefined, training: boolean): tf.Tensor2D {
    const { ninp: E, nhead: H } = this.config
    const D = E / H
    const qkv = linear(h, layer.inProjW, layer.inProjB) // [S·B, 3E]
    // One transpose of all three projections to (3, B, H, S, D), then three contiguous slices: fewer kernels each way
    // than splitting first and transposing each (the same values, moved).
    const stacked = tf.reshape(tf.transpose(tf.reshape(qkv, [S, B, 3, H, D]), [2, 1, 3, 0, 4]), [3, B * H, S, D])
    const heads = tf.split(stacked, 3, 0).map((t) => tf.reshape(t, [B * H, S, D]) as tf.Tensor3D) // (B·H, S, D)
    const [q, k, v] = heads as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D]
    const scores: tf.Tensor3D = tf.matMul(tf.div(q, Math.sqrt(D)), k, false, true) // (B·H, S, S)
    const weights = mask === undefined ? tf.softmax(scores) : maskedSoftmax(scores, mask)
    const attn = dropout(weights, this.config.layerDropout, training, this.rng)
    const ctx = tf.matMul(attn, v) // (B·H, S, D)
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [B, H, S, D]), [2, 0, 1, 3]), [S * B, E]) as tf.Tensor2D // (S·B, E)
    return linear(merged, layer.outProjW, layer.outProjB)
  }

  /**
   * `model(src, has_mask)`: log-probabilities [seqLen, batch, ntoken] for int32 ids [seqLen, batch]. In training mode
   * dropout draws come from this model's seeded generator.
   */
  forward(src: tf.Tensor2D, options: ForwardOptions): tf.Tensor3D {
    return tf.tidy(() => this.forwardEmbedded(this.embed(src), options))
  }

  /** `forward` from input embeddings [S, B, ninp] (as `embed` returns): gradients with respect to them measure context use. */
  forwardEmbedded(emb: tf.Tensor3D, options: ForwardOptions): tf.Tensor3D {
    return tf.tidy(() => {
      const [S, B] = emb.shape
      const logits = linear(this.encode(emb, options), this.decoderW, this.decoderB) // [S·B, ntoken]
      return tf.reshape(logSoftmax(logits), [S, B, this.config.ntoken]) as tf.Tensor3D
    })
  }

  /** Log-probabilities of the next token after the last position, [batch, ntoken]: generate.py's `output[-1]`, decoded alone. */
  forwardLast(src: tf.Tensor2D, options: ForwardLastOptions): tf.Tensor2D {
    return tf.tidy(() => this.forwardLastEmbedded(this.embed(src), options))
  }

  /** `forwardLast` from input embeddings [S, B, ninp]. */
  forwardLastEmbedded(emb: tf.Tensor3D, options: ForwardLastOptions): tf.Tensor2D {
    return tf.tidy(() => {
      const [S, B] = emb.shape
      const h = this.encode(emb, options)
      // Rows position·B … position·B + B − 1 of h [S·B, ninp].
      const rows = () => tf.add(tf.mul(tf.reshape(options.position as tf.Tensor, [1]), tf.scalar(B, 'int32')), tf.range(0, B, 1, 'int32'))
      const last = options.position === undefined ? tf.slice(h, [(S - 1) * B, 0], [B, this.config.ninp]) : tf.gather(h, rows())
      return logSoftmax(linear(last, this.decoderW, this.decoderB))
    })
  }

  dispose(): void {
    this.registry.dispose()
    for (const m of this.masks.values()) m.dispose()
    this.masks.clear()
  }
}
