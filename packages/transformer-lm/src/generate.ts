import * as tf from '@tensorflow/tfjs-core'
import { GCNNModel } from './gcnn-model'
import { RNNModel } from './rnn-model'
import type { TransformerModel } from './transformer-model'
import { SeededRng } from '@tinylab/seeded-rng'
import type { ForwardCompiler } from '@tinylab/train-loop'
import { hiddenFromInputs, hiddenOutputs, RnnHostState } from './rnn-host-state'

export interface GenerateOptions {
  /** How many tokens to yield (generate.py --words). */
  words: number
  /** Divides the log-probabilities before sampling; must be >= 1e-3 (generate.py --temperature). */
  temperature?: number
  /** Seeds the first token and every draw (generate.py --seed). */
  seed?: number
  /**
   * Runs each word's forward pass through a compiled step (e.g. @tinylab/webgpu-backend's `compileForward`): the RNN's
   * hidden state goes in and comes out with it, the GCNN's window is fixed once it is full, and the Transformer reads
   * its sequence padded to a multiple of `lengthBucket` with the padding masked out, so each bucket compiles once.
   * The draws stay on the host with the same generator: the same words as without it wherever the log-probabilities agree.
   */
  compile?: ForwardCompiler
  /** The Transformer's padded lengths with `compile` (default 64; at most the positional table's length). */
  lengthBucket?: number
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

/** exp(logp / T) as generate.py, shifted by the max first: the same distribution once normalised (multinomial normalises), but no underflow to all zeros at low temperatures. */
function samplingWeights(logp: tf.Tensor, temperature: number): tf.Tensor1D {
  return tf.tidy(() => {
    const scaled = tf.div(tf.reshape(logp, [-1]), temperature)
    return tf.exp(tf.sub(scaled, tf.max(scaled))) as tf.Tensor1D
  })
}

/** The sampling weights of the token after `tokens`, for the whole generation. */
interface NextWeights {
  weights(tokens: readonly number[]): Promise<Float32Array>
  dispose(): void
}

type GeneratingModel = TransformerModel | RNNModel | GCNNModel

function eagerWeights(model: GeneratingModel, temperature: number): NextWeights {
  let hidden = model instanceof RNNModel ? model.initHidden(1) : undefined
  return {
    async weights(tokens) {
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
        const input = tf.tensor2d(tokens as number[], [tokens.length, 1], 'int32')
        logp = model.forwardLast(input, { training: false, mask: false })
        input.dispose()
      }
      const weights = samplingWeights(logp, temperature)
      logp.dispose()
      try {
        return (await weights.data()) as Float32Array
      } finally {
        weights.dispose()
      }
    },
    dispose() {
      if (hidden) tf.dispose([hidden.h, hidden.c])
    },
  }
}

/** Additive [S, S] mask letting every position attend to the first `length` (int32 [1]) only: generate.py's unmasked attention over the real tokens. */
function paddingMask(length: tf.Tensor, size: number): tf.Tensor2D {
  const padded = tf.greaterEqual(tf.range(0, size, 1, 'int32'), length)
  const row = tf.where(padded, tf.fill([size], -Infinity), tf.zeros([size]))
  return tf.tile(tf.reshape(row, [1, size]), [size, 1]) as tf.Tensor2D
}

function compiledWeights(model: GeneratingModel, compile: ForwardCompiler, temperature: number, bucket: number): NextWeights {
  const run = async (step: ReturnType<ForwardCompiler>, inputs: tf.Tensor[]) => {
    try {
      return await step.run(inputs)
    } finally {
      tf.dispose(inputs)
    }
  }
  if (model instanceof RNNModel) {
    const step = compile((inputs) => {
      const out = model.forward(inputs[0] as tf.Tensor2D, { training: false, hidden: hiddenFromInputs(inputs, 1) })
      return [samplingWeights(out.logProbs, temperature), ...hiddenOutputs(out.hidden)]
    }, { name: 'generate' })
    const state = new RnnHostState(model, 1)
    return {
      async weights(tokens) {
        const outputs = await run(step, [tf.tensor2d([tokens[tokens.length - 1] as number], [1, 1], 'int32'), ...state.tensors()])
        state.update(outputs)
        return outputs[0] as Float32Array
      },
      dispose: () => step.dispose(),
    }
  }
  if (model instanceof GCNNModel) {
    // Shorter windows (the first receptiveField − 1 words) come once each: their calls run eagerly.
    const step = compile(([input]) => [samplingWeights(model.forwardLast(input as tf.Tensor2D, { training: false }), temperature)], { name: 'generate' })
    return {
      async weights(tokens) {
        const recent = tokens.slice(-model.receptiveField)
        return (await run(step, [tf.tensor2d(recent as number[], [recent.length, 1], 'int32')]))[0] as Float32Array
      },
      dispose: () => step.dispose(),
    }
  }
  // Inputs: the ids padded to the bucket [size, 1] and the real length [1]; a replay reads both from their buffers.
  const step = compile(([input, length]) => {
    const ids = input as tf.Tensor2D
    const mask = paddingMask(length as tf.Tensor, ids.shape[0])
    const position = tf.sub(length as tf.Tensor, tf.scalar(1, 'int32'))
    return [samplingWeights(model.forwardLast(ids, { training: false, mask, position }), temperature)]
  }, { name: 'generate' })
  return {
    async weights(tokens) {
      const size = Math.min(Math.ceil(tokens.length / bucket) * bucket, Math.max(tokens.length, model.config.maxLen))
      const padded = new Int32Array(size)
      padded.set(tokens)
      return (await run(step, [tf.tensor2d(padded, [size, 1], 'int32'), tf.tensor1d([tokens.length], 'int32')]))[0] as Float32Array
    },
    dispose: () => step.dispose(),
  }
}

/**
 * generate.py as an async iterator of token ids: start from a random token, feed each sampled token back, sample from
 * `exp(logp / temperature)`. The RNN carries its hidden state; the Transformer re-reads the whole sequence each step
 * without a causal mask, exactly as generate.py calls `model(input, False)`; the GCNN reads the last `receptiveField`
 * tokens, all its prediction can depend on. With `compile`, each word's forward pass replays a compiled plan.
 *
 * ```ts
 * for await (const id of generate(model, { words: 100, temperature: 1, seed: 1111 })) process.stdout.write(vocab[id] + ' ')
 * ```
 */
export async function* generate(model: GeneratingModel, options: GenerateOptions): AsyncGenerator<number> {
  const temperature = options.temperature ?? 1
  if (!(temperature >= 1e-3)) throw new Error(`generate: --temperature has to be greater or equal 1e-3, got ${temperature}`)
  const bucket = options.lengthBucket ?? 64
  if (!(Number.isInteger(bucket) && bucket > 0)) throw new Error(`generate: lengthBucket must be a positive integer, got ${bucket}`)
  const rng = new SeededRng(options.seed ?? 1111)
  const tokens = [rng.int(model.config.ntoken)]
  const next = options.compile ? compiledWeights(model, options.compile, temperature, bucket) : eagerWeights(model, temperature)
  try {
    for (let i = 0; i < options.words; i++) {
      const id = sample(await next.weights(tokens), rng)
      tokens.push(id)
      yield id
    }
  } finally {
    next.dispose()
  }
}
