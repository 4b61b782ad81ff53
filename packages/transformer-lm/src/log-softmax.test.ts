import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { relError } from '@tinylab/test-utils/close'
import { describe, expect, it } from 'vitest'
import { LOG_SOFTMAX, LOG_SOFTMAX_GRAD } from '@tinylab/kernel-names'
import { logSoftmax } from '@tinylab/train-loop'

// The fused kernels of @tinylab/native-cpu (registered for 'wasm+native' when its addon is built; CI builds it).
const native = await initBackend({ device: 'wasm+native' }).then(
  () => '',
  (error: unknown) => (error instanceof Error ? error.message : String(error)),
)
if (native !== '' && process.env['CI'] === 'true') throw new Error(`CI builds the native addon, but: ${native}`)

/** log-softmax and its gradient under a non-uniform upstream gradient, with the kernels that ran. */
async function run(device: 'cpu' | 'wasm' | 'wasm+native', shape: number[]) {
  await initBackend({ device })
  // Logits of LM size spread (±30) with an offset row, so the max shift matters; odd sizes.
  const logits = tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape, 0, 10, 'float32', 7), 3), 50))
  const weights = tf.randomNormal(shape, 0, 1, 'float32', 8)
  const before = tf.memory().numTensors
  let outputs: Float32Array[] = []
  const profile = await tf.profile(() => {
    const y = logSoftmax(logits)
    const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(logSoftmax(x), weights)))(logits)
    outputs = [y, dx].map((t) => t.dataSync() as Float32Array)
    tf.dispose([y, dx])
  })
  expect(tf.memory().numTensors, 'tensors left behind').toBe(before)
  tf.dispose([logits, weights])
  return { outputs, kernels: new Set(profile.kernelNames) }
}

describe('logSoftmax', () => {
  it('is tf.logSoftmax where the backend has no fused kernels (wasm)', async () => {
    const r = await run('wasm', [3, 5])
    expect(r.kernels.has(LOG_SOFTMAX)).toBe(false)
  })

  describe.skipIf(native !== '')(`on wasm+native's fused kernels${native ? ` (skipped: ${native})` : ''}`, () => {
    it.each([[[7, 33]], [[2, 3, 1001]], [[35, 1, 4099]]])('matches tf.logSoftmax and its autodiff gradient (cpu backend) within 1e-5 for %j', async (shape) => {
      const reference = await run('cpu', shape)
      const fused = await run('wasm+native', shape)
      expect(fused.kernels).toContain(LOG_SOFTMAX)
      expect(fused.kernels).toContain(LOG_SOFTMAX_GRAD)
      expect(relError(fused.outputs[0] as Float32Array, reference.outputs[0] as Float32Array), 'y').toBeLessThan(1e-5)
      expect(relError(fused.outputs[1] as Float32Array, reference.outputs[1] as Float32Array), 'dx').toBeLessThan(1e-5)
    })
  })
})
