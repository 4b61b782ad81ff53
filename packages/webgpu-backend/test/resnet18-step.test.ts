/**
 * One full-width ResNet-18 training step (@tinylab/test-utils/resnet18-fixture: every layer and kernel of torchvision's model) on
 * WebGPU against the pure-JS cpu backend: loss and all 62 parameter gradients within 1e-3 relative error, then SGD
 * steps on WebGPU with a flat tensor count. Batch 4 at 32x32 keeps the cpu side to seconds (see resnet-step-parity.test.ts).
 * WebGPU tensors are read with `await data()`: Node has no synchronous GPU readback.
 */
import '@tensorflow/tfjs-backend-cpu'
// Training needs tfjs-core's gradients, which its Node entry does not register (@tinylab/multi-device does it for users).
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import { afterAll, describe, expect, it } from 'vitest'
import { listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'
import { resnet18, seededTensor } from '@tinylab/test-utils/resnet18-fixture'

const BATCH = 4
const SIZE = 32
const CLASSES = 200

async function gradientsOnce(): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const net = resnet18(CLASSES)
  const x = seededTensor([BATCH, SIZE, SIZE, 3], 1000) as tf.Tensor4D
  const labels = tf.tensor1d([3, 199, 0, 57], 'int32')
  const { value, grads } = tf.variableGrads(() => net.loss(x, labels), [...net.params.values()])
  const result = { loss: (await value.data())[0] ?? NaN, grads: new Map<string, Float32Array>() }
  for (const [name, v] of net.params) result.grads.set(name, Float32Array.from(await (grads[v.name] as tf.Tensor).data()))
  tf.dispose([value, x, labels, ...Object.values(grads), ...net.params.values()])
  return result
}

const adapterCount = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapterCount === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

describe.skipIf(adapterCount === 0)(`ResNet-18 training step: webgpu matches cpu${adapterCount === 0 ? ' (skipped: no WebGPU adapter)' : ''}`, () => {
  afterAll(() => stopWebGpu())

  it('loss and every parameter gradient within 1e-3', async () => {
    await tf.setBackend('cpu')
    const want = await gradientsOnce()
    await startWebGpu()
    tf.env().set('WEBGPU_CPU_FORWARD', false)
    const got = await gradientsOnce()
    expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss)).toBeLessThanOrEqual(1e-3)
    expect(got.grads.size).toBe(62) // 20 convs + 20 BN (weight, bias) + fc (weight, bias)
    for (const [name, ref] of want.grads) expect(relError(got.grads.get(name) ?? new Float32Array(), ref), name).toBeLessThanOrEqual(1e-3)
  })

  it('SGD steps on webgpu: loss falls, numTensors after step 2 equals after step 8', async () => {
    await startWebGpu()
    const net = resnet18(CLASSES, 16)
    const params = [...net.params.values()]
    const momentum = params.map((p) => tf.variable(tf.zerosLike(p), false))
    const x = seededTensor([BATCH, SIZE, SIZE, 3], 2000) as tf.Tensor4D
    const labels = tf.tensor1d([1, 2, 3, 4], 'int32')
    const counts: number[] = []
    const losses: number[] = []
    for (let step = 1; step <= 8; step++) {
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => net.loss(x, labels), params)
        params.forEach((p, i) => {
          const buf = momentum[i] as tf.Variable
          buf.assign(tf.add(tf.mul(buf, 0.9), tf.add(grads[p.name] as tf.Tensor, tf.mul(p, 1e-4))))
          p.assign(tf.sub(p, tf.mul(buf, 0.05)))
        })
        return value
      })
      losses.push((await loss.data())[0] ?? NaN)
      loss.dispose()
      counts.push(tf.memory().numTensors)
    }
    expect(counts[7]).toBe(counts[1])
    // The same batch 8 times: a working step fits it (from ~ln 200 = 5.3 clearly down).
    expect(losses[7]).toBeLessThan((losses[0] ?? 0) * 0.8)
    tf.dispose([x, labels, ...params, ...momentum])
  })
})
