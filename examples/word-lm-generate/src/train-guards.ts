/**
 * Checks `pnpm wordlm train` makes before training, so a mistake costs seconds rather than an epoch: the --save path
 * and the corpus splits being large enough for their batches.
 */
import path from 'node:path'
import { checkOutputFile, formatForPath } from '@tinylab/checkpoint-io'
import { batchify, type TokenMatrix } from '@tinylab/wikitext-data'
import { UsageError } from '@tinylab/cli-flags'

/** `--save`: a format its extension names, a folder that exists or can be made and written, room for the weights. */
export function checkSavePath(save: string, parameterCount: number): void {
  try {
    formatForPath(save)
  } catch (e) {
    throw new UsageError(`argument --save: ${(e as Error).message}`)
  }
  checkOutputFile(save, '--save', { expectedBytes: 4 * parameterCount })
}

/**
 * data.py's batchify, with the split's file in the error: every pass needs at least two rows (one input row and the
 * row of its targets), so a split needs 2 x `columns` tokens (one `<eos>` per line counts).
 */
export function batchifySplit(tokens: Int32Array, columns: number, dir: string, split: 'train' | 'valid' | 'test', flag: string): TokenMatrix {
  if (Math.floor(tokens.length / columns) < 2) {
    const file = path.join(dir, `${split}.txt`)
    throw new Error(`${file}: ${tokens.length} tokens, too few for ${flag} ${columns} (needs at least ${2 * columns}: two rows of ${columns} columns)`)
  }
  return batchify(tokens, columns)
}
