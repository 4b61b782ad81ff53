/**
 * A gated convolutional language model (Dauphin et al. 2017, "Language Modeling with Gated Convolutional Networks"):
 * embedding → dropout → `nlayers` causal 1-D convolutions, each followed by a gated linear unit (GLU: a ⊙ σ(b)) and a
 * residual connection where the widths match → dropout → linear decoder → log_softmax. Each layer sees `kernelSize`
 * consecutive positions ending at the current one, so the prediction at t depends on the tokens t − (rf − 1) … t only,
 * rf = nlayers·(kernelSize − 1) + 1: a hard context window, unlike the Transformer's attention or the LSTM's state.
 *
 * The PyTorch module with the same state-dict keys, in order (`encoder.weight`, `convs.N.weight`, `convs.N.bias`,
 * `decoder.weight`, `decoder.bias`):
 * ```python
 * self.encoder = nn.Embedding(ntoken, ninp)
 * self.convs = nn.ModuleList([nn.Conv1d(ninp if l == 0 else nhid, 2 * nhid, kernel_size) for l in range(nlayers)])
 * self.decoder = nn.Linear(nhid, ntoken)
 * # forward, x [B, C, S]: y = F.glu(conv(F.pad(x, (kernel_size - 1, 0))), dim=1); x = y + x if same shape else y
 * ```
 * Dauphin et al. also use weight normalisation and bottleneck blocks; this keeps the plain gated residual layer, the
 * part that sets the receptive field.
 */
import * as tf from '@tensorflow/tfjs-core'
import { dropout, Registry, uniform } from './_layers'
import { logSoftmax } from '@tinylab/train-loop'
import type { NamedTensor } from '@tinylab/checkpoint-io'
import { SeededRng } from '@tinylab/seeded-rng'

export interface GCNNConfig {
  ntoken: number // vocabulary size
  ninp: number // embedding size (--emsize)
  nhid: number // channels of every gated layer's output (--nhid)
  nlayers: number // stacked gated convolutions (--nlayers)
  kernelSize?: number // convolution width (--kernel-size), default 4
  dropout?: number // after the embedding and before the decoder, as RNNModel; default 0.5
  seed?: number
}

interface GatedConv {
  weight: tf.Variable // torch's own layout [2·nhid, in, kernelSize]
  bias: tf.Variable // [2·nhid]
  inChannels: number
}

/**
 * ```ts
 * const model = new GCNNModel({ ntoken: 100, ninp: 16, nhid: 16, nlayers: 3, kernelSize: 4 }) // receptiveField 10
 * const logProbs = model.forward(ids, { training: false }) // ids int32 [S, B] -> [S, B, 100]
 * ```
 */
export class GCNNModel {
  readonly modelType = 'GCNN' as const
  readonly config: Required<GCNNConfig>
  readonly rng: SeededRng
  /** How many positions (the current one included) a prediction can depend on: nlayers·(kernelSize − 1) + 1. */
  readonly receptiveField: number
  private readonly registry = new Registry()
  private readonly encoder: tf.Variable // [ntoken, ninp]
  private readonly convs: GatedConv[] = []
  private readonly decoderW: tf.Variable // [nhid, ntoken]
  private readonly decoderB: tf.Variable

  constructor(config: GCNNConfig) {
    const c: Required<GCNNConfig> = { kernelSize: 4, dropout: 0.5, seed: 1111, ...config }
    for (const key of ['ntoken', 'ninp', 'nhid', 'nlayers', 'kernelSize'] as const) {
      if (!(Number.isInteger(c[key]) && c[key] > 0)) throw new Error(`GCNNModel: ${key} must be a positive integer, got ${c[key]}`)
    }
    this.config = c
    this.rng = new SeededRng(c.seed)
    this.receptiveField = c.nlayers * (c.kernelSize - 1) + 1
    const r = this.registry
    const { ntoken, ninp, nhid, kernelSize: K } = c
    this.encoder = r.add('encoder.weight', uniform(this.rng, [ntoken, ninp], 0.1))
    for (let l = 0; l < c.nlayers; l++) {
      const inChannels = l === 0 ? ninp : nhid
      // nn.Conv1d.reset_parameters: weight and bias U(±1/√(in·kernel)).
      const bound = 1 / Math.sqrt(inChannels * K)
      this.convs.push({
        weight: r.add(`convs.${l}.weight`, uniform(this.rng, [2 * nhid, inChannels, K], bound)),
        bias: r.add(`convs.${l}.bias`, uniform(this.rng, [2 * nhid], bound)),
        inChannels,
      })
    }
    this.decoderW = r.add('decoder.weight', uniform(this.rng, [nhid, ntoken], 0.1), 'linear-io')
    this.decoderB = r.add('decoder.bias', tf.zeros([ntoken]))
  }

  namedTensors(): NamedTensor[] {
    return [...this.registry.entries]
  }

  parameters(): NamedTensor[] {
    return this.registry.parameters()
  }

  /** The input embeddings [S, B, ninp] of int32 ids [S, B]: what `forwardEmbedded` reads. */
  embed(src: tf.Tensor2D): tf.Tensor3D {
    if (src.dtype !== 'int32') throw new Error(`GCNNModel: input must be int32 token ids, got ${src.dtype}`)
    return tf.gather(this.encoder, src) as tf.Tensor3D
  }

  /**
   * One causal convolution + GLU (+ residual) over x [S, B, in]: the kernel's K taps are K row-shifted copies of the
   * left-zero-padded input side by side, so the convolution is one [S·B, K·in] × [K·in, 2·nhid] matmul; torch's
   * weight [out, in, K] becomes [K·in, out] by a transpose, keeping its layout in the state dict.
   */
  private gatedConv(x: tf.Tensor3D, conv: GatedConv): tf.Tensor3D {
    const [S, B, C] = x.shape
    const { kernelSize: K, nhid } = this.config
    const padded = K > 1 ? tf.concat([tf.zeros([K - 1, B, C]), x], 0) : x // [S+K-1, B, C]
    const taps = Array.from({ length: K }, (_, j) => tf.slice(padded, [j, 0, 0], [S, B, C])) // tap j: x[t + j - (K-1)]
    const unfolded = tf.reshape(K > 1 ? tf.concat(taps, 2) : taps[0]!, [S * B, K * C]) as tf.Tensor2D
    const w = tf.reshape(tf.transpose(conv.weight, [2, 1, 0]), [K * C, 2 * nhid]) as tf.Tensor2D
    const out = tf.add(tf.matMul(unfolded, w), conv.bias) // [S·B, 2·nhid]
    const [a, b] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D]
    const y = tf.reshape(tf.mul(a, tf.sigmoid(b)), [S, B, nhid]) as tf.Tensor3D // F.glu(dim=channels)
    return conv.inChannels === nhid ? tf.add(y, x) : y
  }

  /** The features before the decoder, [S·B, nhid], from embeddings [S, B, ninp]. */
  private encode(emb: tf.Tensor3D, training: boolean): tf.Tensor2D {
    const [S, B] = emb.shape
    let x = dropout(emb, this.config.dropout, training, this.rng)
    for (const conv of this.convs) x = this.gatedConv(x, conv)
    return dropout(tf.reshape(x, [S * B, this.config.nhid]) as tf.Tensor2D, this.config.dropout, training, this.rng)
  }

  private decode(h: tf.Tensor2D): tf.Tensor2D {
    return logSoftmax(tf.add(tf.matMul(h, this.decoderW), this.decoderB))
  }

  /** Log-probabilities [S, B, ntoken] for int32 ids [S, B] (the same call as `TransformerModel.forward`). */
  forward(src: tf.Tensor2D, options: { training: boolean }): tf.Tensor3D {
    return tf.tidy(() => this.forwardEmbedded(this.embed(src), options))
  }

  /** `forward` from input embeddings [S, B, ninp] (as `embed` returns): gradients with respect to them measure context use. */
  forwardEmbedded(emb: tf.Tensor3D, options: { training: boolean }): tf.Tensor3D {
    return tf.tidy(() => {
      const [S, B] = emb.shape
      return tf.reshape(this.decode(this.encode(emb, options.training)), [S, B, this.config.ntoken]) as tf.Tensor3D
    })
  }

  /** Log-probabilities of the token after the last position, [B, ntoken], decoding that position only. */
  forwardLast(src: tf.Tensor2D, options: { training: boolean }): tf.Tensor2D {
    return tf.tidy(() => this.forwardLastEmbedded(this.embed(src), options))
  }

  /** `forwardLast` from input embeddings [S, B, ninp]. */
  forwardLastEmbedded(emb: tf.Tensor3D, options: { training: boolean }): tf.Tensor2D {
    return tf.tidy(() => {
      const [S, B] = emb.shape
      const h = this.encode(emb, options.training)
      return this.decode(tf.slice(h, [(S - 1) * B, 0], [B, this.config.nhid]))
    })
  }

  dispose(): void {
    this.registry.dispose()
  }
}
