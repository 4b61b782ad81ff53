import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NamedTensor } from '@tinylab/checkpoint-io'
import { createResNet, resnet18, resnetArchs, type ResNet } from './resnet'

// wasm, the default device: tfjs's pure-JS cpu backend takes a minute for the two ResNet-18 training steps below.
beforeAll(async () => {
  await initBackend({ device: 'wasm' })
})

function stats(values: Float32Array): { mean: number; std: number; maxAbs: number } {
  let sum = 0
  let maxAbs = 0
  for (const v of values) {
    sum += v
    maxAbs = Math.max(maxAbs, Math.abs(v))
  }
  const mean = sum / values.length
  let sq = 0
  for (const v of values) sq += (v - mean) ** 2
  return { mean, std: Math.sqrt(sq / values.length), maxAbs }
}

describe('initialisation follows torchvision', () => {
  let model: ResNet
  let byName: Map<string, NamedTensor>
  beforeAll(() => {
    model = resnet18({ numClasses: 200, seed: 1 })
    byName = new Map(model.namedTensors().map((t) => [t.name, t]))
  })
  afterAll(() => model.dispose())

  it('draws conv weights from N(0, 2 / fan_out) (kaiming_normal_, mode=fan_out, relu)', () => {
    const convs = model.namedTensors().filter((t) => t.layout === 'conv2d-hwio')
    expect(convs).toHaveLength(20)
    for (const t of convs) {
      const [kh, kw, , out] = t.value.shape as [number, number, number, number]
      const expectedStd = Math.sqrt(2 / (out * kh * kw))
      const s = stats(t.value.dataSync() as Float32Array)
      // ≥ 8192 samples: the sample std is within ~1% of the true one, the mean within ~3 standard errors of 0
      expect(Math.abs(s.std / expectedStd - 1), t.name).toBeLessThan(0.03)
      expect(Math.abs(s.mean), t.name).toBeLessThan((3 * expectedStd) / Math.sqrt(t.value.size))
    }
  })

  it('draws fc weight and bias from U(±1/√fan_in) (nn.Linear.reset_parameters)', () => {
    const bound = 1 / Math.sqrt(512)
    const w = byName.get('fc.weight')
    const b = byName.get('fc.bias')
    expect(w?.value.shape).toEqual([512, 200])
    const ws = stats(w?.value.dataSync() as Float32Array)
    expect(ws.maxAbs).toBeLessThanOrEqual(bound)
    expect(ws.maxAbs).toBeGreaterThan(0.99 * bound)
    expect(Math.abs(ws.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.02)
    const bs = stats(b?.value.dataSync() as Float32Array)
    expect(bs.maxAbs).toBeLessThanOrEqual(bound)
    expect(bs.std).toBeGreaterThan(0.4 * bound)
  })

  it('starts BatchNorm at weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0', () => {
    const expected: Record<string, number> = { weight: 1, bias: 0, running_mean: 0, running_var: 1, num_batches_tracked: 0 }
    const bnTensors = model.namedTensors().filter((t) => /bn\d\.|downsample\.1\./.test(t.name))
    expect(bnTensors).toHaveLength(20 * 5)
    for (const t of bnTensors) {
      const field = t.name.split('.').at(-1) ?? ''
      expect(new Set(t.value.dataSync()), t.name).toEqual(new Set([expected[field]]))
    }
  })

  it('is reproducible from a seed, and different seeds differ', () => {
    const a = resnet18({ seed: 7 })
    const b = resnet18({ seed: 7 })
    const c = resnet18({ seed: 8 })
    const first = (m: typeof a): number[] => Array.from(m.namedTensors()[0]?.value.dataSync() ?? []).slice(0, 50)
    expect(first(a)).toEqual(first(b))
    expect(first(a)).not.toEqual(first(c))
    for (const m of [a, b, c]) m.dispose()
  })
})

describe('forward', () => {
  it('maps NHWC images to [N, numClasses] for both stems, without leaking tensors', () => {
    for (const stem of ['imagenet', 'cifar'] as const) {
      const model = resnet18({ numClasses: 10, stem, seed: 0 })
      const x = tf.randomNormal([2, 16, 16, 3]) as tf.Tensor4D
      const before = tf.memory().numTensors
      for (const training of [false, true]) {
        const y = model.forward(x, { training })
        expect(y.shape).toEqual([2, 10])
        y.dispose()
      }
      expect(tf.memory().numTensors).toBe(before)
      x.dispose()
      model.dispose()
    }
  })

  it('changes only the buffers in train mode, and only in train mode', () => {
    const model = resnet18({ numClasses: 10, stem: 'cifar', seed: 0 })
    const x = tf.randomNormal([2, 4, 4, 3], 0.5, 1, 'float32', 3) as tf.Tensor4D
    // a position-weighted sum per tensor: any changed element changes it (copying 11M values would take seconds)
    const digest = (values: ArrayLike<number>): number => {
      let d = 0
      for (let i = 0; i < values.length; i++) d += (values[i] ?? 0) * ((i % 7) + 1)
      return d
    }
    const snapshot = (): number[] => model.namedTensors().map((t) => digest(t.value.dataSync()))
    const start = snapshot()
    model.forward(x, { training: false }).dispose()
    expect(snapshot()).toEqual(start)
    model.forward(x, { training: true }).dispose()
    const after = snapshot()
    model.namedTensors().forEach((t, i) => {
      if (t.kind === 'parameter') expect(after[i], t.name).toEqual(start[i])
      else expect(after[i], t.name).not.toEqual(start[i])
    })
    x.dispose()
    model.dispose()
  })

  it('keeps tf.memory() flat over training steps under tf.variableGrads', () => {
    const model = resnet18({ numClasses: 10, stem: 'cifar', seed: 0 })
    const x = tf.randomNormal([2, 4, 4, 3]) as tf.Tensor4D
    const vars = model.parameters().map((p) => p.value)
    const counts: number[] = [tf.memory().numTensors]
    for (let step = 0; step < 2; step++) {
      const { value, grads } = tf.variableGrads(() => tf.mean(model.forward(x, { training: true })) as tf.Scalar, vars)
      expect(Object.keys(grads)).toHaveLength(62)
      tf.dispose([value, ...Object.values(grads)])
      counts.push(tf.memory().numTensors)
    }
    expect(new Set(counts).size).toBe(1)
    x.dispose()
    model.dispose()
  })

  it('rejects inputs that are not NHWC RGB, and single-value BatchNorm in training', () => {
    const model = resnet18({ numClasses: 10, stem: 'cifar', seed: 0 })
    const nchw = tf.zeros([1, 3, 8, 8]) as tf.Tensor4D
    expect(() => model.forward(nchw, { training: false })).toThrow(/expected NHWC input \[N, H, W, 3\], got \[1, 3, 8, 8\]/)
    const single = tf.zeros([1, 1, 1, 3]) as tf.Tensor4D
    expect(() => model.forward(single, { training: true })).toThrow(/more than 1 value per channel/)
    tf.dispose([nchw, single])
    model.dispose()
  })
})

describe('arch registry', () => {
  it('lists the torchvision names and builds by name', () => {
    expect(Object.keys(resnetArchs)).toEqual(['resnet18', 'resnet34', 'resnet50'])
    expect(() => createResNet('resnet101')).toThrow("unknown arch 'resnet101'; choose one of: resnet18, resnet34, resnet50")
    expect(() => resnet18({ numClasses: 0 })).toThrow(/numClasses must be a positive integer, got 0/)
  })
})
