import * as tf from '@tensorflow/tfjs-core'
import path from 'node:path'

/** A row-major int32 matrix `[rows, cols]` without tfjs: what `batchify` returns. */
export interface TokenMatrix {
  data: Int32Array
  shape: [number, number]
}

/**
 * Lays a token stream out as `[nbatch, bsz]` like `batchify` in word_language_model/main.py: the tail that does not
 * fill a column is dropped, and column j holds the j-th contiguous chunk, so each column is an independent stream.
 * ```
 * a b c d e f g h i j k l m n o p q r s t u v w x y z, bsz 4 ->  a g m s
 *                                                                 b h n t
 *                                                                 ...
 *                                                                 f l r x   (y z dropped)
 * ```
 * @example
 * ```ts
 * const m = batchify(Int32Array.from([0, 1, 2, 3, 4, 5, 6]), 2) // shape [3, 2], data [0, 3, 1, 4, 2, 5]
 * ```
 */
export function batchify(data: Int32Array, bsz: number): TokenMatrix {
  if (!Number.isInteger(bsz) || bsz < 1) throw new Error(`batchify: bsz must be a positive integer, got ${bsz}`)
  const nbatch = Math.floor(data.length / bsz)
  if (nbatch < 1) throw new Error(`batchify: ${data.length} tokens cannot fill one row of ${bsz} columns`)
  const out = new Int32Array(nbatch * bsz)
  for (let j = 0; j < bsz; j++) {
    const col = data.subarray(j * nbatch, (j + 1) * nbatch)
    for (let i = 0; i < nbatch; i++) out[i * bsz + j] = col[i] as number
  }
  return { data: out, shape: [nbatch, bsz] }
}

/**
 * `batchify` for a split of a corpus folder, refusing one too small for a pass: every pass needs two rows (one input
 * row and the row of its targets), so `2 · columns` tokens (one `<eos>` per line counts). The error names the split's
 * file and `what` set the column count (a flag, say).
 *
 * @example
 * ```ts
 * batchifySplit(corpus.train, 20, 'data/wikitext-2', 'train', '--batch_size') // [104431, 20] on WikiText-2
 * ```
 */
export function batchifySplit(tokens: Int32Array, columns: number, dir: string, split: 'train' | 'valid' | 'test', what: string): TokenMatrix {
  if (Math.floor(tokens.length / columns) < 2) {
    const file = path.join(dir, `${split}.txt`)
    throw new Error(`${file}: ${tokens.length} tokens, too few for ${what} ${columns} (needs at least ${2 * columns}: two rows of ${columns} columns)`)
  }
  return batchify(tokens, columns)
}

/** The matrix as an int32 tensor `[rows, cols]` (caller disposes). */
export function toTensor(m: TokenMatrix): tf.Tensor2D {
  return tf.tensor2d(m.data, m.shape, 'int32')
}

/** Rows `i..i+seqLen` of `source` and the next-token targets, with `seqLen = min(bptt, rows - 1 - i)` (main.py). */
export function getBatchArrays(source: TokenMatrix, i: number, bptt: number): { data: TokenMatrix; target: Int32Array } {
  const [rows, cols] = source.shape
  if (!Number.isInteger(i) || i < 0 || i >= rows - 1) throw new Error(`getBatch: i must be an integer in [0, ${rows - 2}], got ${i}`)
  if (!Number.isInteger(bptt) || bptt < 1) throw new Error(`getBatch: bptt must be a positive integer, got ${bptt}`)
  const seqLen = Math.min(bptt, rows - 1 - i)
  return {
    data: { data: source.data.subarray(i * cols, (i + seqLen) * cols), shape: [seqLen, cols] },
    target: source.data.subarray((i + 1) * cols, (i + 1 + seqLen) * cols),
  }
}

/**
 * `get_batch(source, i)` of word_language_model/main.py: `data` is `[seqLen, bsz]`, `target` the same rows shifted by
 * one, flattened to `[seqLen * bsz]` (`.view(-1)`). Both are new int32 tensors; the caller disposes them.
 *
 * @example
 * ```ts
 * const train = batchify(corpus.train, 20)
 * for (let i = 0; i < train.shape[0] - 1; i += 35) {
 *   const { data, target } = getBatch(train, i, 35)
 *   // ... model.forward(data) ...
 *   tf.dispose([data, target])
 * }
 * ```
 */
export function getBatch(source: TokenMatrix, i: number, bptt: number): { data: tf.Tensor2D; target: tf.Tensor1D } {
  const b = getBatchArrays(source, i, bptt)
  return { data: tf.tensor2d(b.data.data, b.data.shape, 'int32'), target: tf.tensor1d(b.target, 'int32') }
}

/**
 * The batch count main.py prints (`len(train_data) // args.bptt`, "2983 batches" on WikiText-2 at 20/35). Its loop
 * `range(0, rows - 1, bptt)` runs `ceil((rows - 1) / bptt)` steps, the last one shorter: see `batchStarts`.
 */
export function numBatches(source: TokenMatrix, bptt: number): number {
  return Math.floor(source.shape[0] / bptt)
}

/** The `i` values of main.py's loop `for batch, i in enumerate(range(0, rows - 1, bptt))`. */
export function batchStarts(source: TokenMatrix, bptt: number): number[] {
  const starts: number[] = []
  for (let i = 0; i < source.shape[0] - 1; i += bptt) starts.push(i)
  return starts
}

/**
 * `getBatch` at each of `starts` (default: main.py's whole pass, `batchStarts`), each batch disposed when the loop asks
 * for the next one or leaves early, so a `for…of` over it holds one batch at a time.
 *
 * @example
 * ```ts
 * for (const { data, target } of bpttBatches(valid, 35)) total += data.shape[0] * lossOf(data, target)
 * ```
 */
export function* bpttBatches(source: TokenMatrix, bptt: number, starts: readonly number[] = batchStarts(source, bptt)): Generator<{ data: tf.Tensor2D; target: tf.Tensor1D }> {
  for (const i of starts) {
    const batch = getBatch(source, i, bptt)
    try {
      yield batch
    } finally {
      tf.dispose([batch.data, batch.target])
    }
  }
}
