import { initBackend } from '@tinylab/multi-device'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { batchStarts, batchify, batchifySplit, bpttBatches, getBatch, getBatchArrays, numBatches, toTensor } from './batchify'

const seq = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i)

describe('batchify', () => {
  beforeAll(async () => {
    await initBackend({ device: 'cpu' })
  })

  it('drops the remainder and puts contiguous chunks in columns (torch: data.view(bsz, -1).t())', () => {
    // 26 tokens, bsz 4 -> nbatch 6; column j = tokens [6j, 6j+6): the example drawn in main.py.
    const m = batchify(seq(26), 4)
    expect(m.shape).toEqual([6, 4])
    expect(Array.from(m.data.subarray(0, 8))).toEqual([0, 6, 12, 18, 1, 7, 13, 19])
    expect(Array.from(m.data.subarray(20))).toEqual([5, 11, 17, 23])
    expect(() => batchify(seq(3), 4)).toThrow(/cannot fill one row/)
    expect(() => batchify(seq(3), 0)).toThrow(/bsz must be a positive integer, got 0/)
  })

  it('getBatch returns [seqLen, bsz] data and the flattened next rows, shortening the last batch', () => {
    const m = batchify(seq(26), 4) // 6 rows
    const b = getBatchArrays(m, 3, 5) // seqLen = min(5, 6 - 1 - 3) = 2
    expect(b.data.shape).toEqual([2, 4])
    expect(Array.from(b.data.data)).toEqual([3, 9, 15, 21, 4, 10, 16, 22])
    expect(Array.from(b.target)).toEqual([4, 10, 16, 22, 5, 11, 17, 23])
    expect(() => getBatchArrays(m, 5, 2)).toThrow(/i must be an integer in \[0, 4\], got 5/)
    expect(batchStarts(m, 2)).toEqual([0, 2, 4])
    expect(numBatches(m, 2)).toBe(3)
  })

  it('makes int32 tensors without leaking', () => {
    const m = batchify(seq(26), 4)
    const before = tf.memory().numTensors
    const t = toTensor(m)
    expect(t.dtype).toBe('int32')
    expect(t.shape).toEqual([6, 4])
    const { data, target } = getBatch(m, 0, 2)
    expect(data.shape).toEqual([2, 4])
    expect(target.shape).toEqual([8])
    expect(Array.from(target.dataSync())).toEqual([1, 7, 13, 19, 2, 8, 14, 20])
    tf.dispose([t, data, target])
    expect(tf.memory().numTensors).toBe(before)
  })

  it('batchifySplit refuses a split without two rows, naming its file and what set the columns', () => {
    expect(batchifySplit(seq(8), 4, 'corpus', 'valid', '--batch_size').shape).toEqual([2, 4])
    expect(() => batchifySplit(seq(7), 4, 'corpus', 'valid', '--batch_size')).toThrow(
      'corpus/valid.txt: 7 tokens, too few for --batch_size 4 (needs at least 8: two rows of 4 columns)',
    )
  })

  it('bpttBatches yields getBatch at each start and disposes each batch, also when the loop leaves early', () => {
    const m = batchify(seq(26), 4) // 6 rows: starts 0, 2, 4
    const before = tf.memory().numTensors
    const seen: number[][] = []
    for (const { data, target } of bpttBatches(m, 2)) {
      seen.push([...data.shape, target.dataSync()[0] as number])
      expect(tf.memory().numTensors).toBe(before + 2) // only this batch is alive
    }
    expect(seen).toEqual([[2, 4, 1], [2, 4, 3], [1, 4, 5]])
    for (const { data } of bpttBatches(m, 2, [2, 4])) {
      expect(data.dataSync()[0]).toBe(2)
      break
    }
    expect(tf.memory().numTensors).toBe(before)
  })
})
