/**
 * The study's three measurements on a token stream (the test split): main.py-style perplexity, loss as a function of
 * the context the model is given, and how strongly the loss at one position depends on each earlier input embedding.
 * Every target is the token at a position p of the stream; its context is the k tokens p−k … p−1.
 */
import * as tf from '@tensorflow/tfjs-core'
import { evaluateLm, nllLoss } from '@tinylab/transformer-lm'
import { batchify, bpttBatches } from '@tinylab/wikitext-data'
import type { ContextProbe } from './probe'

const EVAL_BATCH_SIZE = 10 // main.py's eval_batch_size
// Context tokens per forward pass: big enough that the LSTM's step-by-step ops are few (their cost is per call, not
// per element), small enough to stay well inside the wasm heap: past it, 200 LSTM targets at k = 128 took 90 s
// against 4 s at k = 64.
const CONTEXT_TOKENS_PER_PASS = 12_800
const SENSITIVITY_CHUNK = 25 // sequences per backward pass

const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Called after each pass with the context tokens it processed (for progress with an ETA). */
export type OnTokens = (tokens: number) => void

/** Context tokens `lossWithContext` processes for these targets at context k (the unit of `OnTokens`). */
export const contextWork = (targets: number, k: number): number => targets * k
/** The same for `sensitivityByDistance`, its backward pass counted as two forwards. */
export const sensitivityWork = (samples: number, window: number): number => 3 * samples * window

/**
 * main.py's `evaluate` on the stream: columns of 10, chunks of `bptt` rows; the LSTM carries its state from chunk to
 * chunk, the Transformer and GCNN start every chunk afresh. Returns the mean NLL per token.
 */
export async function testLoss(probe: ContextProbe, stream: Int32Array, bptt: number): Promise<number> {
  const r = (await evaluateLm(probe.model, bpttBatches(batchify(stream, EVAL_BATCH_SIZE), bptt))) as { total: number; rows: number }
  return r.total / r.rows
}

/** `count` target positions spread evenly over [first, stream.length − 1], each with `first` tokens before it. */
export function targetPositions(streamLength: number, first: number, count: number): number[] {
  const last = streamLength - 1
  if (last < first) throw new Error(`the evaluated stream has ${streamLength} tokens, too few for ${first} tokens of context (lower --bptt or raise --eval-tokens)`)
  const n = Math.min(count, last - first + 1)
  return Array.from({ length: n }, (_, i) => first + Math.floor((i * (last - first + 1)) / n))
}

/** ids [k, positions.length]: column c holds stream[p_c − k … p_c − 1]. */
function contextMatrix(stream: Int32Array, positions: readonly number[], k: number): tf.Tensor2D {
  const C = positions.length
  const ids = new Int32Array(k * C)
  positions.forEach((p, c) => {
    for (let r = 0; r < k; r++) ids[r * C + c] = stream[p - k + r] as number
  })
  return tf.tensor2d(ids, [k, C], 'int32')
}

/** −log p(stream[p_c] | context) summed over the columns, from log-probabilities [C, V]. */
function summedNll(logProbs: tf.Tensor2D, stream: Int32Array, positions: readonly number[]): tf.Scalar {
  const targets = tf.tensor1d(Int32Array.from(positions, (p) => stream[p] as number), 'int32')
  const loss = tf.mul(nllLoss(logProbs, targets), positions.length) as tf.Scalar
  targets.dispose()
  return loss
}

/** Mean NLL of the targets at `positions` when the model sees only the k preceding tokens. */
export async function lossWithContext(probe: ContextProbe, stream: Int32Array, positions: readonly number[], k: number, onTokens: OnTokens = () => {}): Promise<number> {
  let total = 0
  const targetsPerPass = Math.max(1, Math.floor(CONTEXT_TOKENS_PER_PASS / k))
  for (let s = 0; s < positions.length; s += targetsPerPass) {
    const chunk = positions.slice(s, s + targetsPerPass)
    const ids = contextMatrix(stream, chunk, k)
    const loss = tf.tidy(() => summedNll(probe.lastLogProbs(probe.embed(ids)), stream, chunk))
    total += (await loss.data())[0] as number
    tf.dispose([ids, loss])
    onTokens(contextWork(chunk.length, k))
    await yieldToEvents()
  }
  return total / positions.length
}

/**
 * Sensitivity vs distance: for each target p (context p − window … p − 1), the L2 norm of ∂loss_p/∂e_{p−1−d}, the
 * gradient of that target's loss with respect to the input embedding d positions before the last input, averaged over
 * the targets. Index d of the result; d = 0 is the last input token.
 */
export async function sensitivityByDistance(probe: ContextProbe, stream: Int32Array, positions: readonly number[], window: number, onTokens: OnTokens = () => {}): Promise<Float64Array> {
  const sums = new Float64Array(window)
  for (let s = 0; s < positions.length; s += SENSITIVITY_CHUNK) {
    const chunk = positions.slice(s, s + SENSITIVITY_CHUNK)
    const ids = contextMatrix(stream, chunk, window)
    const norms = tf.tidy(() => {
      const emb = probe.embed(ids)
      // One summed loss: each column's loss depends on its own column only, so its gradient is that target's own.
      const grad = tf.grad((e) => summedNll(probe.lastLogProbs(e as tf.Tensor3D), stream, chunk))(emb) // [window, C, E]
      return tf.sum(tf.sqrt(tf.sum(tf.square(grad), 2)), 1) // [window]: Σ over targets of ‖grad‖
    })
    const data = await norms.data()
    for (let r = 0; r < window; r++) sums[window - 1 - r] = (sums[window - 1 - r] as number) + (data[r] as number)
    tf.dispose([ids, norms])
    onTokens(sensitivityWork(chunk.length, window))
    await yieldToEvents()
  }
  return sums.map((v) => v / positions.length)
}
