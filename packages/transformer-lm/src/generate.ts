import * as tf from '@tensorflow/tfjs-core'
import { GCNNModel } from './gcnn-model'
import { RNNModel } from './rnn-model'
import type { TransformerModel } from './transformer-model'
import { SeededRng } from '@tinylab/seeded-rng'

export interface GenerateOptions {
  /** How many tokens to yield (generate.py --words). */
  words: number
  /** Divides the log-probabilities before sampling; must be >= 1e-3 (generate.py --temperature). */
  temperature?: number
  /** Seeds the first token and every draw (generate.py --seed). */
  seed?: number
}

/** torch.multinomial(weights, 1) for unnormalised weights, with our generator. */
function sample(weights: Float32Array, rng: SeededRng): number {
  let total = 0
  for (let i = 0; i < weights.length; i++) total += weights[i] as number
  let u = rng.next() * total
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i] as number
    if (u < 0) return i
  }
  return weights.length - 1
}

/**
 * generate.py as an async iterator of token ids: start from a random token, feed each sampled token back, sample from
 * `exp(logp / temperature)`. The RNN carries its hidden state; the Transformer re-reads the whole sequence each step
 * without a causal mask, exactly as generate.py calls `model(input, False)`; the GCNN reads the last `receptiveField`
 * tokens, all its prediction can depend on.
 *
 * ```ts
 * for await (const id of generate(model, { words: 100, temperature: 1, seed: 1111 })) process.stdout.write(vocab[id] + ' ')
 * ```
 */
export async function* generate(model: TransformerModel | RNNModel | GCNNModel, options: GenerateOptions): AsyncGenerator<number> {
  const temperature = options.temperature ?? 1
  if (!(temperature >= 1e-3)) throw new Error(`generate: --temperature has to be greater or equal 1e-3, got ${temperature}`)
  const rng = new SeededRng(options.seed ?? 1111)
  const ntoken = model.config.ntoken
  const tokens = [rng.int(ntoken)]
  let hidden = model instanceof RNNModel ? model.initHidden(1) : undefined
  try {
    for (let i = 0; i < options.words; i++) {
      let logp: tf.Tensor
      if (model instanceof RNNModel) {
        const input = tf.tensor2d([tokens[tokens.length - 1] as number], [1, 1], 'int32')
        const out = model.forward(input, { training: false, hidden: hidden! })
        input.dispose()
        tf.dispose([hidden!.h, hidden!.c])
        hidden = out.hidden
        logp = out.logProbs
      } else if (model instanceof GCNNModel) {
        const recent = tokens.slice(-model.receptiveField)
        const input = tf.tensor2d(recent, [recent.length, 1], 'int32')
        logp = model.forwardLast(input, { training: false })
        input.dispose()
      } else {
        const input = tf.tensor2d(tokens, [tokens.length, 1], 'int32')
        logp = model.forwardLast(input, { training: false, mask: false })
        input.dispose()
      }
      // exp(logp / T) as generate.py, shifted by the max first: the same distribution once normalised (multinomial
      // normalises), but no underflow to all zeros at low temperatures.
      const weights = tf.tidy(() => {
        const scaled = tf.div(tf.reshape(logp, [ntoken]), temperature)
        return tf.exp(tf.sub(scaled, tf.max(scaled)))
      })
      logp.dispose()
      const data = (await weights.data()) as Float32Array
      weights.dispose()
      const id = sample(data, rng)
      tokens.push(id)
      yield id
    }
  } finally {
    if (hidden) tf.dispose([hidden.h, hidden.c])
  }
}
