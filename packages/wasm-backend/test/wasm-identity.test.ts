// The wasm Identity (tf.clone, and every tensor the gradient tape saves) shares the input's data under a reference
// count instead of copying it: the clone holds the same values, outlives its source, and costs no new memory.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { startWasm } from '../src/index'

describe('wasm Identity without a copy', () => {
  beforeAll(async () => {
    await startWasm()
  })

  it('a clone shares the data: same values, no new buffer, valid after the source is disposed', () => {
    const x = tf.tensor2d([1.5, -2, 3, 4.25, 5, -6], [2, 3])
    const before = tf.memory()
    const clone = tf.clone(x)
    // The engine counts bytes per tensor, but data buffers per backend allocation: a copy would add one.
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers)
    expect(tf.memory().numTensors).toBe(before.numTensors + 1)
    x.dispose()
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers)
    expect(Array.from(clone.dataSync())).toEqual([1.5, -2, 3, 4.25, 5, -6])
    expect(clone.shape).toEqual([2, 3])
    clone.dispose()
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers - 1)
  })

  it('int32 and bool clones keep their dtype; a variable assigned after cloning leaves the clone as it was', () => {
    const ints = tf.clone(tf.tensor1d([7, -8], 'int32'))
    expect(ints.dtype).toBe('int32')
    expect(Array.from(ints.dataSync())).toEqual([7, -8])
    const flags = tf.clone(tf.tensor1d([true, false], 'bool'))
    expect(Array.from(flags.dataSync())).toEqual([1, 0])
    const v = tf.variable(tf.tensor1d([1, 2, 3]))
    const snapshot = tf.clone(v)
    v.assign(tf.tensor1d([9, 9, 9]))
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3])
    tf.dispose([ints, flags, v, snapshot])
  })

  it('a Cast to the same dtype shares the data; real conversions convert, to bool as x != 0 (the shipped kernel gave 254 for -2.5)', () => {
    const x = tf.tensor1d([1.5, -2.5, 0])
    const before = tf.memory().numDataBuffers
    const same = tf.cast(x, 'float32')
    expect(tf.memory().numDataBuffers).toBe(before)
    const ints = tf.cast(x, 'int32')
    const flags = tf.cast(x, 'bool')
    expect(tf.memory().numDataBuffers).toBe(before + 2)
    x.dispose()
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.5, 0])
    expect(ints.dtype).toBe('int32')
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 0])
    expect(Array.from(flags.dataSync())).toEqual([1, 1, 0])
    expect(Array.from(tf.cast(tf.tensor1d([256, -1, 0], 'int32'), 'bool').dataSync())).toEqual([1, 1, 0])
    tf.dispose([same, ints, flags])
  })
})
