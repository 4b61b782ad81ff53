// The parity tests' direct-loop cpu kernels (_cpu-reference.ts) against tfjs-backend-cpu's own, on sizes where tfjs's
// are fast enough: strides, paddings, 1×1 and 7×7 filters, odd sizes; repeated, missing and out-of-range segment ids.
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { seeded } from '@tinylab/test-utils/kernel-cases'
import { beforeAll, describe, expect, it } from 'vitest'
import { FAST_CPU_KERNELS, withFastCpuKernels } from './_cpu-reference'

async function both(fn: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  const read = async (): Promise<Float32Array> => {
    const t = fn()
    const v = Float32Array.from(await t.data())
    t.dispose()
    return v
  }
  const want = await read()
  const got = await withFastCpuKernels(async () => {
    for (const [name, kernel] of FAST_CPU_KERNELS) expect(tf.getKernel(name, 'cpu')?.kernelFunc, name).toBe(kernel)
    return read()
  })
  for (const [name, kernel] of FAST_CPU_KERNELS) expect(tf.getKernel(name, 'cpu')?.kernelFunc, name).not.toBe(kernel)
  return [got, want]
}

describe('cpu reference kernels equal tfjs-backend-cpu', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it.each([
    { x: [2, 9, 9, 3], f: [3, 3, 3, 5], stride: 1, pad: 'same' as const },
    { x: [2, 9, 9, 3], f: [3, 3, 3, 5], stride: 2, pad: 'same' as const },
    { x: [1, 11, 7, 4], f: [7, 7, 4, 6], stride: 2, pad: 'same' as const },
    { x: [3, 8, 8, 6], f: [1, 1, 6, 4], stride: 2, pad: 'valid' as const },
    { x: [1, 6, 5, 2], f: [2, 3, 2, 3], stride: 1, pad: 'valid' as const },
  ])('Conv2DBackpropFilter $x ⊛ $f stride $stride $pad', async ({ x, f, stride, pad }) => {
    const [got, want] = await both(() => {
      const input = seeded(x, 1) as tf.Tensor4D
      const dy = seeded(tf.conv2d(input, seeded(f, 2) as tf.Tensor4D, stride, pad).shape, 3)
      // The filter's gradient of Σ conv(x, w)·dy runs the Conv2DBackpropFilter kernel with this dy.
      return tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(input, w as tf.Tensor4D, stride, pad), dy)))(seeded(f, 2))
    })
    expect(Array.from(got).every((v, i) => Math.abs(v - (want[i] as number)) <= 1e-6 * Math.max(1, Math.abs(want[i] as number)))).toBe(true)
  })

  it('UnsortedSegmentSum: repeated, missing and out-of-range ids; rows of several values', async () => {
    const [got, want] = await both(() => tf.unsortedSegmentSum(seeded([7, 3, 2], 4), tf.tensor1d([4, 0, 4, 2, -1, 9, 0], 'int32'), 6))
    expect(got).toEqual(want)
  })
})
