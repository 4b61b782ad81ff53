/** withReluSigns (the parity tests' tool for ReLU inputs at the kink) against tf.grad on plain cpu. */
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { withReluSigns } from './_relu-signs'

const x = [-2, -1e-7, 0, 1e-7, 3]
const loss = (v: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.relu(tf.relu(v)), tf.tensor1d([1, 2, 3, 4, 5])))

describe('withReluSigns', () => {
  beforeAll(() => tf.setBackend('cpu'))

  it('masks each ReLU call by its own recorded outputs and leaves the forward and the registry as they were', async () => {
    const input = tf.tensor1d(x)
    const plain = await tf.grad(loss)(input).data()
    expect(Array.from(plain)).toEqual([0, 0, 0, 4, 5])
    // On the other backend, -1e-7 came out positive and 1e-7 came out 0, in both calls.
    const other = new Float32Array([0, 1e-8, 0, 0, 3])
    const recorded = [other, other]
    const { value, grads } = await withReluSigns(recorded, async () => {
      const { value: v, grad } = tf.valueAndGrad(loss)(input)
      return { value: await v.data(), grads: await grad.data() }
    })
    expect(Array.from(grads)).toEqual([0, 2, 0, 0, 5])
    expect(value[0]).toBeCloseTo(4e-7 + 15, 6)
    expect(Array.from(await tf.grad(loss)(input).data())).toEqual(Array.from(plain))
    input.dispose()
  })

  it('throws when the calls do not match the recorded outputs', async () => {
    const input = tf.tensor1d(x)
    await expect(withReluSigns([new Float32Array(5)], async () => tf.grad(loss)(input).data())).rejects.toThrow('ReLU call 1 of shape [5] has no recorded output')
    await expect(withReluSigns([new Float32Array(5), new Float32Array(5), new Float32Array(5)], async () => tf.grad(loss)(input).data())).rejects.toThrow('2 ReLU calls, 3 recorded outputs')
    expect(Array.from(await tf.grad(loss)(input).data())).toEqual([0, 0, 0, 4, 5])
    input.dispose()
  })
})
