/**
 * TinyLab's fused kernels on WebGPU (@tinylab/kernel-names has their contracts) against the same math composed from tfjs
 * ops on the cpu backend: batch norm in training mode, its gradient and its running statistics, SGD with and without
 * momentum, squared norms for gradient clipping, log-softmax and its gradient, layer norm and its gradient, masked softmax and
 * the softmax's gradient, the NLL loss and its gradient. Odd sizes on purpose: channels not a
 * multiple of 4 or of the 16-channel tile, batch 1, one channel, rows much longer than a workgroup.
 */
import * as tf from '@tensorflow/tfjs-core'
import { seeded } from '@tinylab/test-utils/kernel-cases'
import { expect, it } from 'vitest'
import { describeKernelParity } from './_parity'
import type { KernelParityCase } from './_parity'

const EPS = 1e-5

function bnInputs(shape: number[], seed: number, offset: number): { x: tf.Tensor; gamma: tf.Tensor; beta: tf.Tensor; dy: tf.Tensor } {
  const c = shape[shape.length - 1] as number
  // An offset mean checks the variance is taken around the mean, not as E[x²] − E[x]² (which cancels in float32).
  return { x: tf.add(seeded(shape, seed, 2), offset), gamma: tf.add(seeded([c], seed + 1, 0.5), 1), beta: seeded([c], seed + 2), dy: seeded(shape, seed + 3) }
}

function batchNormCase(shape: number[], seed: number, offset = 3): KernelParityCase {
  const axes = shape.slice(0, -1).map((_, i) => i)
  return {
    name: `TinylabBatchNormTraining + Grad [${shape}] mean ${offset}`,
    reference: () => {
      const { x, gamma, beta, dy } = bnInputs(shape, seed, offset)
      const { mean, variance } = tf.moments(x, axes)
      const f = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const m = tf.moments(xs, axes)
        return tf.batchNorm(xs, m.mean, m.variance, b, g, EPS)
      }
      const [dx, dgamma, dbeta] = tf.grads(f)([x, gamma, beta], dy) as [tf.Tensor, tf.Tensor, tf.Tensor]
      return [f(x, gamma, beta), mean, variance, tf.rsqrt(tf.add(variance, EPS)), dx, dgamma, dbeta]
    },
    webgpu: () => {
      const { x, gamma, beta, dy } = bnInputs(shape, seed, offset)
      const [y, mean, variance, rstd] = tf.engine().runKernel('TinylabBatchNormTraining', { x, gamma, beta }, { epsilon: EPS }) as tf.Tensor[]
      const grads = tf.engine().runKernel('TinylabBatchNormTrainingGrad', { dy, x, mean: mean as tf.Tensor, rstd: rstd as tf.Tensor, gamma }) as tf.Tensor[]
      return [y, mean, variance, rstd, ...grads] as tf.Tensor[]
    },
  }
}

function runningStatsCase(channels: number, count: number, momentum: number, seed: number): KernelParityCase {
  const inputs = (): Record<'runningMean' | 'runningVar' | 'mean' | 'variance', tf.Tensor> => ({
    runningMean: seeded([channels], seed),
    runningVar: tf.add(seeded([channels], seed + 1, 0.5), 1),
    mean: seeded([channels], seed + 2),
    variance: tf.add(seeded([channels], seed + 3, 0.5), 0.6),
  })
  return {
    name: `TinylabBatchNormRunningStats [${channels}] count ${count} momentum ${momentum}`,
    reference: () => {
      // nn.BatchNorm2d: running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance.
      const { runningMean, runningVar, mean, variance } = inputs()
      const unbiased = tf.mul(variance, count / (count - 1))
      return [tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mean, momentum)), tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(unbiased, momentum))]
    },
    webgpu: () => tf.engine().runKernel('TinylabBatchNormRunningStats', inputs(), { momentum, count }) as tf.Tensor[],
  }
}

interface SgdAttrs { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

function sgdCase(shape: number[], attrs: SgdAttrs, seed: number): KernelParityCase {
  const inputs = (): { param: tf.Tensor; grad: tf.Tensor; buffer: tf.Tensor } => ({ param: seeded(shape, seed), grad: seeded(shape, seed + 1), buffer: seeded(shape, seed + 2) })
  return {
    name: `TinylabSGDMomentum [${shape}] ${JSON.stringify(attrs)}`,
    reference: () => {
      // torch.optim.SGD's _single_tensor_sgd with an existing momentum buffer (momentum 0: none, buffer' = d).
      const { param, grad, buffer } = inputs()
      const d = tf.add(grad, tf.mul(param, attrs.weightDecay))
      if (attrs.momentum === 0) return [tf.sub(param, tf.mul(d, attrs.lr)), d]
      const buf = tf.add(tf.mul(buffer, attrs.momentum), tf.mul(d, 1 - attrs.dampening))
      const step = attrs.nesterov ? tf.add(d, tf.mul(buf, attrs.momentum)) : buf
      return [tf.sub(param, tf.mul(step, attrs.lr)), buf]
    },
    webgpu: () => tf.engine().runKernel('TinylabSGDMomentum', inputs(), { ...attrs }) as tf.Tensor[],
  }
}

/** TinylabSGDMomentumMulti over parameters of these shapes: the same numbers as TinylabSGDMomentum's reference. */
function sgdMultiCase(shapes: number[][], attrs: SgdAttrs, seed: number): KernelParityCase {
  const singles = shapes.map((shape, i) => sgdCase(shape, attrs, seed + 10 * i))
  const inputs = (): Record<string, tf.Tensor> =>
    Object.fromEntries(shapes.flatMap((shape, i) => {
      const s = seed + 10 * i
      return [[`param${i}`, seeded(shape, s)], [`grad${i}`, seeded(shape, s + 1)], [`buffer${i}`, seeded(shape, s + 2)]]
    }))
  return {
    name: `TinylabSGDMomentumMulti ${shapes.length} parameters ${JSON.stringify(attrs)}`,
    reference: () => singles.flatMap((c) => c.reference()),
    webgpu: () => tf.engine().runKernel('TinylabSGDMomentumMulti', inputs(), { ...attrs, count: shapes.length }) as tf.Tensor[],
  }
}

function sumSquaresCase(shapes: number[][], seed: number): KernelParityCase {
  const inputs = (): tf.Tensor[] => shapes.map((shape, i) => seeded(shape, seed + i, 1 + (i % 3)))
  return {
    name: `TinylabSumSquares ${shapes.length} tensors, ${shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0)} values`,
    reference: () => [tf.stack(inputs().map((x) => tf.sum(tf.square(x))))],
    webgpu: () => {
      const named = Object.fromEntries(inputs().map((x, i) => [`x${i}`, x]))
      return [tf.engine().runKernel('TinylabSumSquares', named, { count: shapes.length }) as tf.Tensor]
    },
  }
}

/** clip_grad_norm_'s tail composed as torch 1.13 writes it: total = √Σ sums, min(maxNorm / (total + 1e-6), 1). */
function clipCoefficientCase(sums: number[], maxNorm: number): KernelParityCase {
  return {
    name: `TinylabClipCoefficient ${sums.length} sums, maxNorm ${maxNorm}`,
    reference: () => {
      const total = tf.sqrt(tf.sum(tf.tensor1d(sums)))
      return [tf.reshape(total, [1]), tf.reshape(tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(total, tf.scalar(1e-6))), tf.scalar(1)), [1])]
    },
    webgpu: () => tf.engine().runKernel('TinylabClipCoefficient', { sums: tf.tensor1d(sums) }, { maxNorm }) as tf.Tensor[],
  }
}

function logSoftmaxCase(shape: number[], seed: number, scale: number): KernelParityCase {
  const inputs = (): { logits: tf.Tensor; dy: tf.Tensor } => ({ logits: seeded(shape, seed, scale), dy: seeded(shape, seed + 1) })
  return {
    name: `TinylabLogSoftmax + Grad [${shape}] scale ${scale}`,
    reference: () => {
      const { logits, dy } = inputs()
      return [tf.logSoftmax(logits), tf.grad((x: tf.Tensor) => tf.logSoftmax(x))(logits, dy)]
    },
    webgpu: () => {
      const { logits, dy } = inputs()
      const y = tf.engine().runKernel('TinylabLogSoftmax', { logits }) as tf.Tensor
      return [y, tf.engine().runKernel('TinylabLogSoftmaxGrad', { dy, y }) as tf.Tensor]
    },
  }
}

/** Int32 targets in [0, classes), seeded. */
function seededTargets(rows: number, classes: number, seed: number): tf.Tensor1D {
  const u = seeded([rows], seed).dataSync()
  return tf.tensor1d(Int32Array.from(u, (v) => Math.min(classes - 1, Math.floor(((v + 1) / 2) * classes))), 'int32')
}

/**
 * nn.NLLLoss() of seeded log-probabilities [rows, classes] and its gradient for a seeded dy, against a one-hot product
 * on cpu (each row's sum has one non-zero term, so it is exact; cpu's gather gradient loops once per element).
 */
function nllCase(rows: number, classes: number, seed: number): KernelParityCase {
  const inputs = (): { logProbs: tf.Tensor; targets: tf.Tensor1D; dy: tf.Scalar } => ({
    logProbs: tf.sub(seeded([rows, classes], seed, 4), 5),
    targets: seededTargets(rows, classes, seed + 1),
    dy: tf.scalar(0.75 + (seed % 7) / 4),
  })
  return {
    name: `TinylabNllLoss + Grad [${rows}, ${classes}]`,
    reference: () => {
      const { logProbs, targets, dy } = inputs()
      const oneHot = tf.oneHot(targets, classes)
      const f = (lp: tf.Tensor): tf.Tensor => tf.neg(tf.mean(tf.sum(tf.mul(lp, oneHot), 1)))
      return [f(logProbs), tf.grad(f)(logProbs, dy)]
    },
    webgpu: () => {
      const { logProbs, targets, dy } = inputs()
      const loss = tf.engine().runKernel('TinylabNllLoss', { logProbs, targets }) as tf.Tensor
      return [loss, tf.engine().runKernel('TinylabNllLossGrad', { dy, targets }, { classes }) as tf.Tensor]
    },
  }
}

function layerNormCase(shape: number[], seed: number, offset = 2): KernelParityCase {
  const c = shape[shape.length - 1] as number
  const inputs = (): Record<'x' | 'gamma' | 'beta' | 'dy', tf.Tensor> => ({
    x: tf.add(seeded(shape, seed, 2), offset),
    gamma: tf.add(seeded([c], seed + 1, 0.5), 1),
    beta: seeded([c], seed + 2),
    dy: seeded(shape, seed + 3),
  })
  return {
    name: `TinylabLayerNorm + Grad [${shape}] mean ${offset}`,
    reference: () => {
      // nn.LayerNorm composed: biased variance over the last axis, eps inside the square root.
      const { x, gamma, beta, dy } = inputs()
      const f = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const m = tf.moments(xs, -1, true)
        return tf.add(tf.mul(tf.mul(tf.sub(xs, m.mean), tf.rsqrt(tf.add(m.variance, EPS))), g), b)
      }
      const rows = x.size / c
      const { mean, variance } = tf.moments(x, -1)
      return [f(x, gamma, beta), tf.reshape(mean, [rows]), tf.reshape(tf.rsqrt(tf.add(variance, EPS)), [rows]), ...tf.grads(f)([x, gamma, beta], dy)]
    },
    webgpu: () => {
      const { x, gamma, beta, dy } = inputs()
      const [y, mean, rstd] = tf.engine().runKernel('TinylabLayerNorm', { x, gamma, beta }, { epsilon: EPS }) as tf.Tensor[]
      const grads = tf.engine().runKernel('TinylabLayerNormGrad', { dy, x, mean: mean as tf.Tensor, rstd: rstd as tf.Tensor, gamma }) as tf.Tensor[]
      return [y as tf.Tensor, mean as tf.Tensor, rstd as tf.Tensor, ...grads]
    },
  }
}

/** Scores [..., R, C] plus a causal (−∞ above the diagonal) or random mask, softmax, and the softmax's gradient. */
function maskedSoftmaxCase(shape: number[], seed: number, causal: boolean): KernelParityCase {
  const [r, c] = shape.slice(-2) as [number, number]
  const inputs = (): Record<'logits' | 'mask' | 'dy', tf.Tensor> => {
    const data = new Float32Array(r * c)
    for (let i = 0; i < r; i++) for (let j = i + 1; j < c; j++) data[i * c + j] = -Infinity
    return { logits: seeded(shape, seed, 4), mask: causal ? tf.tensor2d(data, [r, c]) : seeded([r, c], seed + 1, 2), dy: seeded(shape, seed + 2) }
  }
  return {
    name: `TinylabMaskedSoftmax + TinylabSoftmaxGrad [${shape}] ${causal ? 'causal' : 'random'} mask`,
    reference: () => {
      const { logits, mask, dy } = inputs()
      const f = (x: tf.Tensor): tf.Tensor => tf.softmax(tf.add(x, mask))
      return [f(logits), tf.grad(f)(logits, dy)]
    },
    webgpu: () => {
      const { logits, mask, dy } = inputs()
      const y = tf.engine().runKernel('TinylabMaskedSoftmax', { logits, mask }) as tf.Tensor
      return [y, tf.engine().runKernel('TinylabSoftmaxGrad', { dy, y }) as tf.Tensor]
    },
  }
}

const momentum: SgdAttrs = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: false }

describeKernelParity('fused kernels', [
  batchNormCase([2, 5, 5, 3], 10),
  batchNormCase([1, 7, 7, 17], 20),
  batchNormCase([3, 4, 4, 33], 30),
  batchNormCase([4, 8, 8, 64], 40),
  batchNormCase([2, 3, 3, 1], 50),
  batchNormCase([37, 6], 60),
  batchNormCase([64, 9, 9, 16], 65, 300),
  sgdCase([3], momentum, 70),
  sgdCase([5, 7], { ...momentum, nesterov: true }, 80),
  sgdCase([3, 3, 5, 17], { ...momentum, dampening: 0.1, weightDecay: 0 }, 90),
  sgdCase([1001], { lr: 20, momentum: 0.5, dampening: 0, weightDecay: 5e-4, nesterov: false }, 100),
  sgdCase([33, 7], { lr: 20, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, 105),
  sgdCase([19], { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0.01, nesterov: false }, 106),
  sgdMultiCase([[3, 3, 3, 64], [64], [7]], momentum, 200),
  sgdMultiCase([[5], [1], [2, 3], [300, 7], [9], [64, 200], [11]], { ...momentum, nesterov: true }, 210),
  sgdMultiCase([[13]], momentum, 220),
  sgdMultiCase([[40, 5], [3], [17], [2]], { lr: 20, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, 230),
  sumSquaresCase([[7]], 300),
  sumSquaresCase([[70001], [3, 3], [1], [200, 33]], 310),
  sumSquaresCase(Array.from({ length: 20 }, (_, i) => [i + 1, 2 * i + 3]), 320),
  clipCoefficientCase([0.5, 2, 1e-3], 0.25), // clipped: coef < 1
  clipCoefficientCase(Array.from({ length: 41 }, (_, i) => (i + 1) * 1e-4), 5), // not clipped: coef clamped to 1
  clipCoefficientCase([0], 0.25), // zero gradients: maxNorm / 1e-6
  runningStatsCase(3, 50, 0.1, 160),
  runningStatsCase(64, 65536, 0.1, 170),
  runningStatsCase(129, 2, 0.3, 180),
  logSoftmaxCase([7], 110, 3),
  logSoftmaxCase([3, 5], 120, 3),
  logSoftmaxCase([2, 3, 1000], 130, 10),
  logSoftmaxCase([4, 33278], 140, 5),
  logSoftmaxCase([300, 3], 150, 50),
  layerNormCase([7, 200], 400),
  layerNormCase([3, 5, 13], 410, 5),
  layerNormCase([1, 1], 420),
  layerNormCase([2, 1000], 430),
  layerNormCase([300, 3], 440, 10),
  layerNormCase([5, 257], 450, 100),
  maskedSoftmaxCase([4, 35, 35], 500, true),
  maskedSoftmaxCase([3, 7, 7], 510, false),
  maskedSoftmaxCase([2, 3, 5, 97], 520, false),
  maskedSoftmaxCase([1, 1, 1], 530, true),
  nllCase(1, 2, 600),
  nllCase(7, 13, 610),
  nllCase(300, 257, 620),
  nllCase(1031, 3, 630),
  nllCase(3, 33278, 640),
], () => {
  it('TinylabClipCoefficient keeps a NaN norm NaN in both outputs, as tf.minimum does (a diverged step is not clipped to 1)', async () => {
    const sums = tf.tensor1d([1, Number.NaN])
    const [total, coef] = tf.engine().runKernel('TinylabClipCoefficient', { sums }, { maxNorm: 0.25 }) as tf.Tensor[]
    expect(Array.from(await (total as tf.Tensor).data())).toEqual([Number.NaN])
    expect(Array.from(await (coef as tf.Tensor).data())).toEqual([Number.NaN])
    tf.dispose([sums, total as tf.Tensor, coef as tf.Tensor])
  })

  it('TinylabNllLoss + Grad address exactly above 2^24 elements (700 × 33,278: the LM at batch 20), where a float32 index picks neighbours', async () => {
    // Checked through scalars (reading 23 M values back and composing them on cpu takes ~10 s on lavapipe): element i
    // holds −(1 + (37·i mod 1021))/1021, so neighbours differ by 37/1021 and one row's pick landing on a neighbour moves
    // the loss by ~1e-4 relative.
    const [rows, classes, period] = [700, 33278, 1021]
    const values = new Float32Array(rows * classes)
    for (let i = 0; i < values.length; i++) values[i] = -(1 + ((37 * i) % period)) / period
    const targetValues = Int32Array.from({ length: rows }, (_, r) => (r * 7919 + 13) % classes)
    const wantLoss = -targetValues.reduce((sum, t, r) => sum + (values[r * classes + t] as number), 0) / rows
    const dy = 1.5
    const outputs = tf.tidy(() => {
      const logProbs = tf.tensor2d(values, [rows, classes])
      const targets = tf.tensor1d(targetValues, 'int32')
      const loss = tf.engine().runKernel('TinylabNllLoss', { logProbs, targets }) as tf.Tensor
      const grad = tf.engine().runKernel('TinylabNllLossGrad', { dy: tf.scalar(dy), targets }, { classes }) as tf.Tensor
      // The forward kernel reads −dy/N back at every target only if the gradient put it there; Σ|grad| = dy then
      // leaves nothing anywhere else.
      const atTargets = tf.engine().runKernel('TinylabNllLoss', { logProbs: grad, targets }) as tf.Tensor
      return [loss, atTargets, tf.sum(tf.abs(grad))]
    })
    const [loss, atTargets, absSum] = await Promise.all(outputs.map(async (t) => (await t.data())[0] as number))
    tf.dispose(outputs)
    expect(values.length).toBeGreaterThan(2 ** 24)
    expect(Math.abs((loss as number) - wantLoss) / Math.abs(wantLoss), 'loss').toBeLessThan(1e-5)
    expect(Math.abs((atTargets as number) - dy / rows) / (dy / rows), 'gradient at the targets').toBeLessThan(1e-5)
    expect(Math.abs((absSum as number) - dy) / dy, 'gradient elsewhere').toBeLessThan(1e-5)
  })

  it('TinylabNllLoss: a target out of range throws when it is on the host, makes the loss NaN when on the GPU', async () => {
    const logProbs = tf.zeros([3, 5])
    const onHost = tf.tensor1d([0, 5, 1], 'int32')
    expect(() => tf.engine().runKernel('TinylabNllLoss', { logProbs, targets: onHost })).toThrow(/target 5 at row 1 is outside \[0, 5\)/)
    const onGpu = tf.tidy(() => tf.sub(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([0, 3, 0], 'int32')))
    const loss = tf.engine().runKernel('TinylabNllLoss', { logProbs, targets: onGpu }) as tf.Tensor
    expect(Number.isNaN((await loss.data())[0])).toBe(true)
    tf.dispose([logProbs, onHost, onGpu, loss])
  })
})
