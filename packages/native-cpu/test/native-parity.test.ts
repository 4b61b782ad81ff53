// Kernel parity of the oneDNN kernels against tfjs's pure-JS cpu backend (relative error <= 1e-4, fp32), on the
// kernel-parity suite's shapes, forward and gradients, plus a small conv net's gradients (against cpu and against
// central finite differences). Skipped with the reason when the addon is not built; under CI=true a missing addon
// fails, because .ci/run installs libdnnl-dev and builds it.
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import { beforeAll, describe, expect, it } from 'vitest'
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, LOG_SOFTMAX, LOG_SOFTMAX_GRAD, SGD_MOMENTUM } from '@tinylab/kernel-names'
import { loadNativeCpu, NATIVE_BACKEND_NAME, registerNativeKernels } from '../src/index'
import { nativeCalls } from '../src/kernels/_native-kernel'
import { startCpuAndWasm } from './_backends'
import { convCases, matMulCases, poolCases, reduceCases, seeded, tileCases } from './_cases'

const native = loadNativeCpu()
const reason = native.available ? '' : native.reason
if (reason !== '' && process.env['CI'] === 'true') throw new Error(`CI builds the native addon, but: ${reason}`)

const TOLERANCE = 1e-4

const totalNativeCalls = () => [...nativeCalls.values()].reduce((a, b) => a + b, 0)

/** Runs `f` on a backend and returns every output as a Float32Array (tensors disposed). */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend)
  const outs = tf.tidy(f)
  const values = outs.map((t) => t.dataSync() as Float32Array)
  tf.dispose(outs)
  return values
}

async function expectParity(f: () => tf.Tensor[]): Promise<void> {
  const before = totalNativeCalls()
  const expected = await on('cpu', f)
  const actual = await on(NATIVE_BACKEND_NAME, f)
  expect(actual.length).toBe(expected.length)
  for (const [i, want] of expected.entries()) {
    const got = actual[i]!
    expect(got.length).toBe(want.length)
    expect(relError(got, want), `output ${i}`).toBeLessThanOrEqual(TOLERANCE)
  }
  // Proof the native kernels ran rather than a wasm fallback.
  expect(totalNativeCalls()).toBeGreaterThan(before)
}

describe.skipIf(reason !== '')(`native kernels vs cpu backend${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(async () => {
    await startCpuAndWasm()
    registerNativeKernels(tf.backend())
  })

  for (const c of convCases) {
    it(`Conv2D ${c.name}${c.dilations ? '' : ' + Conv2DBackpropInput + Conv2DBackpropFilter'}`, async () => {
      await expectParity(() => {
        const x = tf.tensor4d(seeded(c.x, 1), c.x)
        const w = tf.tensor4d(seeded(c.filter, 2), c.filter)
        const y = tf.conv2d(x, w, c.strides, c.pad, 'NHWC', c.dilations ?? 1)
        if (c.dilations !== undefined) return [y]
        // Weighted sum so every output position has its own upstream gradient.
        const r = tf.tensor(seeded(y.shape, 3), y.shape)
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), r)),
        )([x, w])
        return [y, dx!, dw!]
      })
    })
  }

  // The filter gradient's im2col + GEMM path (taken where oneDNN has no JIT kernel for a shape, e.g. AVX2 at ResNet's
  // 2x2 layer4 maps), forced on every conv case plus that layer4 shape at a small batch.
  const layer4: (typeof convCases)[number] = { name: 'layer4 3x3 s1 pad 1 on 2x2 maps', x: [2, 2, 2, 64], filter: [3, 3, 64, 32], strides: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] }
  for (const c of [...convCases.filter((k) => k.dilations === undefined), layer4]) {
    it(`Conv2DBackpropFilter via im2col + GEMM: ${c.name}`, async () => {
      process.env['TINYLAB_NATIVE_FILTER_GRAD_GEMM'] = '1'
      try {
        await expectParity(() => {
          const x = tf.tensor4d(seeded(c.x, 4), c.x)
          const w = tf.tensor4d(seeded(c.filter, 5), c.filter)
          const yShape = tf.conv2d(x, w, c.strides, c.pad).shape
          const r = tf.tensor(seeded(yShape, 6), yShape)
          const dw = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, b as tf.Tensor4D, c.strides, c.pad), r)))(w)
          return [dw]
        })
      } finally {
        delete process.env['TINYLAB_NATIVE_FILTER_GRAD_GEMM']
      }
    })
  }

  for (const c of matMulCases) {
    it(`BatchMatMul ${c.name}${c.broadcast ? '' : ' (+ gradients)'}`, async () => {
      await expectParity(() => {
        const a = tf.tensor(seeded(c.a, 4), c.a)
        const b = tf.tensor(seeded(c.b, 5), c.b)
        const y = tf.matMul(a, b, c.transposeA, c.transposeB)
        // tfjs-core's BatchMatMul gradient does not reduce broadcast batch dims (on every backend): forward only.
        if (c.broadcast) return [y]
        const r = tf.tensor(seeded(y.shape, 6), y.shape)
        const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, c.transposeA, c.transposeB), r)))([a, b])
        return [y, da!, db!]
      })
    })
  }

  for (const c of poolCases) {
    it(`MaxPoolGrad ${c.name}`, async () => {
      await expectParity(() => {
        // relu first: windows of zeros have tied maxima, which must go to the same (first) position as on cpu.
        const x = tf.relu(tf.tensor4d(seeded(c.x, 7), c.x))
        const y = tf.maxPool(x, c.filter, c.strides, c.pad)
        const r = tf.tensor(seeded(y.shape, 8), y.shape)
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.filter, c.strides, c.pad), r)))(x)
        return [y, dx]
      })
    })
  }

  for (const c of reduceCases) {
    it(`Sum and Mean over axes [${c.axes}] of [${c.shape}]${c.keepDims ? ' keepDims' : ''}`, async () => {
      await expectParity(() => {
        const x = tf.tensor(seeded(c.shape, 9), c.shape)
        return [tf.sum(x, c.axes, c.keepDims), tf.mean(x, c.axes, c.keepDims), tf.moments(x, c.axes).variance]
      })
    })
  }

  it('Exp (oneDNN eltwise), and log-softmax with its gradient built on it, over [300, 1001] logits', async () => {
    await expectParity(() => {
      const x = tf.mul(tf.tensor(seeded([300, 1001], 11), [300, 1001]), 8)
      const w = tf.tensor(seeded([300, 1001], 12), [300, 1001])
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(v), w)))(x)
      return [tf.exp(x), tf.logSoftmax(x), dx]
    })
  })

  it('fused kernels (batch norm, SGD, log-softmax) name the input and shape they reject', async () => {
    await tf.setBackend(NATIVE_BACKEND_NAME)
    const x = tf.zeros([2, 3, 3, 4])
    const run = (name: string, inputs: Record<string, tf.Tensor>, attrs = {}) => () => tf.engine().runKernel(name, inputs, attrs)
    expect(run(BATCH_NORM_TRAINING, { x, gamma: tf.ones([3]), beta: tf.zeros([4]) }, { epsilon: 1e-5 })).toThrow(
      'TinylabBatchNormTraining: gamma must have shape [4], got [3]',
    )
    expect(run(BATCH_NORM_TRAINING, { x, gamma: tf.ones([4]), beta: tf.zeros([4]) })).toThrow('attr epsilon must be a positive number')
    expect(run(BATCH_NORM_TRAINING_GRAD, { dy: tf.zeros([2, 3, 3, 5]), x, mean: tf.zeros([4]), rstd: tf.ones([4]), gamma: tf.ones([4]) })).toThrow(
      "dy must have x's shape [2,3,3,4], got [2,3,3,5]",
    )
    const p = tf.zeros([3])
    expect(run(SGD_MOMENTUM, { param: p, grad: tf.zeros([4]), buffer: p }, { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0 })).toThrow(
      'TinylabSGDMomentum: grad has shape [4], param has [3]',
    )
    expect(run(SGD_MOMENTUM, { param: p, grad: p, buffer: p }, { lr: Number.NaN, momentum: 0.9, dampening: 0, weightDecay: 0 })).toThrow('attr lr must be a finite number')
    expect(run(LOG_SOFTMAX_GRAD, { dy: tf.zeros([2, 5]), y: tf.zeros([2, 4]) })).toThrow('TinylabLogSoftmaxGrad: dy has shape [2,5], expected [2,4]')
    expect(run(LOG_SOFTMAX, { logits: tf.zeros([2, 3], 'int32') })).toThrow('TinylabLogSoftmax: logits must be float32, got int32')
    expect(run(LOG_SOFTMAX, { logits: tf.zeros([0, 3]) })).toThrow('TinylabLogSoftmax: expected a non-empty tensor, got shape [0,3]')
  })

  it('Sum over non-contiguous axes falls back to wasm and still matches', async () => {
    const f = () => [tf.sum(tf.tensor(seeded([3, 4, 5], 9), [3, 4, 5]), [0, 2])]
    const expected = await on('cpu', f)
    const actual = await on(NATIVE_BACKEND_NAME, f)
    expect(relError(actual[0]!, expected[0]!)).toBeLessThanOrEqual(TOLERANCE)
  })

  for (const c of tileCases) {
    it(`Tile ${c.dtype} [${c.shape}] x [${c.reps}]`, async () => {
      await expectParity(() => {
        const values = Array.from(seeded(c.shape, 10), (v) => (c.dtype === 'float32' ? v : c.dtype === 'int32' ? Math.round(v * 100) : v > 0 ? 1 : 0))
        const x = tf.tensor(values, c.shape, c.dtype)
        return [tf.cast(tf.tile(x, c.reps), 'float32')]
      })
    })
  }

  describe('small conv net (conv 3x3 pad 1 -> relu -> conv 3x3 s2 same -> mean -> dense)', () => {
    const shapes = { x: [2, 7, 7, 3], w1: [3, 3, 3, 4], w2: [3, 3, 4, 5], dense: [5, 3] } as const
    const params = () => ({
      w1: tf.tensor4d(seeded(shapes.w1, 11), [...shapes.w1]),
      w2: tf.tensor4d(seeded(shapes.w2, 12), [...shapes.w2]),
      dense: tf.tensor2d(seeded(shapes.dense, 13), [...shapes.dense]),
    })
    const loss = (x: tf.Tensor4D, w1: tf.Tensor4D, w2: tf.Tensor4D, dense: tf.Tensor2D): tf.Scalar => {
      const h1 = tf.relu(tf.conv2d(x, w1, 1, [[0, 0], [1, 1], [1, 1], [0, 0]])) // [2, 7, 7, 4]
      const h2 = tf.conv2d(h1, w2, 2, 'same') // [2, 4, 4, 5]
      const logits = tf.matMul(tf.mean(h2, [1, 2]), dense) // [2, 3]
      return tf.sum(tf.square(logits))
    }
    const input = () => tf.tensor4d(seeded(shapes.x, 10), [...shapes.x])

    it('loss and every parameter gradient match the cpu backend', async () => {
      await expectParity(() => {
        const p = params()
        const x = input()
        const { value, grads } = tf.valueAndGrads((w1: tf.Tensor, w2: tf.Tensor, d: tf.Tensor) =>
          loss(x, w1 as tf.Tensor4D, w2 as tf.Tensor4D, d as tf.Tensor2D),
        )([p.w1, p.w2, p.dense])
        return [value, ...grads]
      })
    })

    it('gradients match central finite differences on wasm+native', async () => {
      await tf.setBackend(NATIVE_BACKEND_NAME)
      const p = params()
      const x = input()
      const grads = tf.grads((w1: tf.Tensor, w2: tf.Tensor, d: tf.Tensor) =>
        loss(x, w1 as tf.Tensor4D, w2 as tf.Tensor4D, d as tf.Tensor2D),
      )([p.w1, p.w2, p.dense])
      const f = (w1: Float32Array, w2: Float32Array): number =>
        tf.tidy(() => loss(x, tf.tensor4d(w1, [...shapes.w1]), tf.tensor4d(w2, [...shapes.w2]), p.dense).dataSync()[0]!)
      const w1 = p.w1.dataSync() as Float32Array
      const w2 = p.w2.dataSync() as Float32Array
      const g1 = grads[0]!.dataSync()
      const g2 = grads[1]!.dataSync()
      const eps = 1e-2
      for (const [which, index] of [[1, 0], [1, 50], [1, 107], [2, 3], [2, 99], [2, 179]] as const) {
        const base = which === 1 ? w1 : w2
        const plus = base.slice()
        const minus = base.slice()
        plus[index]! += eps
        minus[index]! -= eps
        const numeric = which === 1 ? (f(plus, w2) - f(minus, w2)) / (2 * eps) : (f(w1, plus) - f(w1, minus)) / (2 * eps)
        const analytic = (which === 1 ? g1 : g2)[index]!
        expect(Math.abs(numeric - analytic), `w${which}[${index}]`).toBeLessThanOrEqual(1e-2 * Math.max(1, Math.abs(analytic)))
      }
      tf.dispose([p.w1, p.w2, p.dense, x, ...grads])
    })
  })

  it('leaks no tensors and switches back to pure wasm without moving data', async () => {
    await tf.setBackend(NATIVE_BACKEND_NAME)
    const x = tf.tensor4d(seeded([1, 6, 6, 2], 20), [1, 6, 6, 2])
    const w = tf.tensor4d(seeded([3, 3, 2, 2], 21), [3, 3, 2, 2])
    const step = () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, w]))
    tf.dispose(step())
    const before = tf.memory().numTensors
    for (let i = 0; i < 5; i++) tf.dispose(step())
    expect(tf.memory().numTensors).toBe(before)
    const nativeY = tf.conv2d(x, w, 1, 'same').dataSync()
    await tf.setBackend('wasm')
    const wasmY = tf.conv2d(x, w, 1, 'same').dataSync()
    expect(relError(nativeY, wasmY)).toBeLessThanOrEqual(TOLERANCE)
    tf.dispose([x, w])
  })
})
