// The wasm Slice, SplitV and Unpack copy only the selected runs inside the heap; the shipped kernels copied the whole
// input out of it for every piece. Values are checked against the cpu backend for every rank, dtype and cut.
import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { startWasm } from '../src/index'

type Case = { shape: number[]; begin: number[]; size: number[] }

const CASES: Case[] = [
  { shape: [7], begin: [2], size: [4] },
  { shape: [7], begin: [0], size: [0] },
  { shape: [5, 6], begin: [1, 0], size: [3, 6] }, // whole rows: one run
  { shape: [5, 6], begin: [1, 2], size: [3, 3] },
  { shape: [4, 3, 5], begin: [1, 1, 0], size: [2, 2, 5] },
  { shape: [4, 3, 5], begin: [0, 0, 4], size: [4, 3, 1] },
  { shape: [2, 3, 4, 5], begin: [1, 0, 1, 2], size: [1, 3, 2, 3] },
  { shape: [2, 3, 2, 3, 4], begin: [0, 1, 1, 0, 1], size: [2, 2, 1, 3, 2] },
]

function values(shape: number[], dtype: 'float32' | 'int32' | 'bool'): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1)
  if (dtype === 'bool') return tf.tensor(Array.from({ length: n }, (_, i) => i % 3 === 0), shape, dtype)
  return tf.tensor(Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i * 7 - 50 : i * 0.37 - 4.5)), shape, dtype)
}

async function onBoth<T>(fn: () => T): Promise<[T, T]> {
  await tf.setBackend('cpu')
  const want = fn()
  await tf.setBackend('wasm')
  return [fn(), want]
}

describe('wasm Slice, SplitV and Unpack copy runs inside the heap', () => {
  beforeAll(async () => {
    await startWasm()
  })

  it.each(['float32', 'int32', 'bool'] as const)('every rank and cut equals the cpu backend (%s)', async (dtype) => {
    for (const c of CASES) {
      const [got, want] = await onBoth(() => {
        const x = values(c.shape, dtype)
        const y = tf.slice(x, c.begin, c.size)
        const out = { shape: y.shape, dtype: y.dtype, data: Array.from(y.dataSync()) }
        tf.dispose([x, y])
        return out
      })
      expect(got, JSON.stringify(c)).toEqual(want)
    }
  })

  it('split on every axis and unstack equal the cpu backend, and none reads the whole input out of the heap', async () => {
    for (const axis of [0, 1, 2]) {
      const [got, want] = await onBoth(() => {
        const x = values([6, 4, 5], 'float32')
        const parts = [tf.split(x, [1, 2, x.shape[axis] as number - 3], axis), tf.unstack(x, axis)].flat()
        const out = parts.map((p) => ({ shape: p.shape, data: Array.from(p.dataSync()) }))
        tf.dispose([x, ...parts])
        return out
      })
      expect(got).toEqual(want)
    }
    const x = values([128, 800], 'float32')
    const readSync = vi.spyOn(tf.backend(), 'readSync')
    const parts = [...tf.split(x, 128), ...tf.unstack(x), tf.slice(x, [3, 5], [7, 9])]
    expect(readSync).not.toHaveBeenCalled()
    readSync.mockRestore()
    tf.dispose([x, ...parts])
  })

  it('the pieces own their data: they outlive the input, and no buffer leaks', async () => {
    await tf.setBackend('wasm')
    const before = tf.memory().numDataBuffers
    const x = values([3, 4], 'int32')
    const [a, b] = tf.split(x, [1, 3], 1) as [tf.Tensor, tf.Tensor]
    x.dispose()
    expect(Array.from(a.dataSync())).toEqual([-50, -22, 6])
    expect(b.shape).toEqual([3, 3])
    tf.dispose([a, b])
    expect(tf.memory().numDataBuffers).toBe(before)
  })
})
