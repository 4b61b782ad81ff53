/**
 * compileStep's fused dispatches (compiled-step/fuse.ts) against the same math composed from tfjs ops on the cpu
 * backend: ReLU's gradient (alone and of a sum of two gradients), ReLU fused into batch-norm apply, into an Add and
 * into batch-norm apply + residual Add, batch-norm statistics with the running-statistics update, column sums (a
 * transpose + row sum), multi-tensor scaling by one scalar; tf.dropout's mask with its multiplication (drawn on the GPU,
 * so checked against the unfused replay of the same draws). Each case is a step
 * whose replay must use the fused pipeline it names and give the cpu values within 1e-4 (relError); odd sizes on
 * purpose: channels not a multiple of 4 or of the 16-channel tile, one row, elements not a multiple of the workgroup.
 */
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { seeded } from '@tinylab/test-utils/kernel-cases'
import { relError } from '@tinylab/test-utils/close'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileStep, listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'

const EPS = 1e-5
const MOMENTUM = 0.1

interface FusionCase {
  name: string
  /** The fused programs the replay must run ('Fused:<pattern>' in CompiledStepStats.programs). */
  fused: string[]
  inputs: () => tf.Tensor[]
  /** Composed tfjs ops (cpu). */
  reference: (inputs: readonly tf.Tensor[]) => tf.Tensor[]
  /** The step as a model runs it on webgpu: TinyLab's batch-norm kernels, tfjs's relu and its gradient. */
  step: (inputs: readonly tf.Tensor[]) => tf.Tensor[]
}

const axesOf = (x: tf.Tensor): number[] => x.shape.slice(0, -1).map((_, i) => i)
const rowsOf = (x: tf.Tensor): number => x.size / (x.shape[x.shape.length - 1] as number)

function composedBatchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, axesOf(x))
  return tf.batchNorm(x, mean, variance, beta, gamma, EPS)
}

function composedRunningStats(x: tf.Tensor, runningMean: tf.Tensor, runningVar: tf.Tensor): tf.Tensor[] {
  const { mean, variance } = tf.moments(x, axesOf(x))
  const n = rowsOf(x)
  return [tf.add(tf.mul(runningMean, 1 - MOMENTUM), tf.mul(mean, MOMENTUM)), tf.add(tf.mul(runningVar, 1 - MOMENTUM), tf.mul(tf.mul(variance, n / (n - 1)), MOMENTUM))]
}

/** TinylabBatchNormTraining's forward, then `after(y)` and its gradient, then TinylabBatchNormTrainingGrad. */
function fusedBatchNormStep(
  [x, gamma, beta, runningMean, runningVar, ...rest]: readonly tf.Tensor[],
  after: (y: tf.Tensor, ...rest: tf.Tensor[]) => tf.Tensor,
  dOut: tf.Tensor,
): tf.Tensor[] {
  const [y, mean, variance, rstd] = tf.engine().runKernel('TinylabBatchNormTraining', { x: x as tf.Tensor, gamma: gamma as tf.Tensor, beta: beta as tf.Tensor }, { epsilon: EPS }) as tf.Tensor[]
  const running = tf.engine().runKernel(
    'TinylabBatchNormRunningStats',
    { runningMean: runningMean as tf.Tensor, runningVar: runningVar as tf.Tensor, mean: mean as tf.Tensor, variance: variance as tf.Tensor },
    { momentum: MOMENTUM, count: rowsOf(x as tf.Tensor) },
  ) as tf.Tensor[]
  const { value, grads } = tf.valueAndGrads((yy: tf.Tensor, ...others: tf.Tensor[]) => after(yy, ...others))([y as tf.Tensor, ...rest], dOut)
  const [dy, ...dRest] = grads as tf.Tensor[]
  const [dx, dgamma, dbeta] = tf.engine().runKernel('TinylabBatchNormTrainingGrad', { dy: dy as tf.Tensor, x: x as tf.Tensor, mean: mean as tf.Tensor, rstd: rstd as tf.Tensor, gamma: gamma as tf.Tensor }) as tf.Tensor[]
  return [value, dx as tf.Tensor, dgamma as tf.Tensor, dbeta as tf.Tensor, ...dRest, ...running]
}

function composedBatchNormStep([x, gamma, beta, runningMean, runningVar, ...rest]: readonly tf.Tensor[], after: (y: tf.Tensor, ...rest: tf.Tensor[]) => tf.Tensor, dOut: tf.Tensor): tf.Tensor[] {
  const f = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor, ...others: tf.Tensor[]): tf.Tensor => after(composedBatchNorm(xx, g, b), ...others)
  const { value, grads } = tf.valueAndGrads(f)([x, gamma, beta, ...rest] as tf.Tensor[], dOut)
  return [value, ...grads, ...composedRunningStats(x as tf.Tensor, runningMean as tf.Tensor, runningVar as tf.Tensor)]
}

function batchNormInputs(shape: number[], seed: number, extra: number): () => tf.Tensor[] {
  const c = shape[shape.length - 1] as number
  return () => [
    tf.add(seeded(shape, seed, 2), 0.5),
    tf.add(seeded([c], seed + 1, 0.5), 1),
    seeded([c], seed + 2),
    seeded([c], seed + 3),
    tf.add(seeded([c], seed + 4, 0.5), 1),
    ...Array.from({ length: extra }, (_, i) => seeded(shape, seed + 5 + i)),
  ]
}

/** relu(bn(x)): batch-norm apply + ReLU, ReLU's gradient, statistics + running statistics. */
function batchNormReluCase(shape: number[], seed: number): FusionCase {
  const after = (y: tf.Tensor): tf.Tensor => tf.relu(y)
  return {
    name: `relu(batchNorm(x)) [${shape}]`,
    fused: ['Fused:batchNormRelu', 'Fused:reluGrad', 'Fused:batchNormStatsRunning'],
    inputs: batchNormInputs(shape, seed, 1),
    reference: (xs) => composedBatchNormStep(xs.slice(0, 5), after, xs[5] as tf.Tensor),
    step: (xs) => fusedBatchNormStep(xs.slice(0, 5), after, xs[5] as tf.Tensor),
  }
}

/** relu(bn(x) + r), its output used twice (a residual block's output feeds two branches). */
function batchNormAddReluCase(shape: number[], seed: number): FusionCase {
  return {
    name: `relu(batchNorm(x) + r) used twice [${shape}]`,
    fused: ['Fused:batchNormAddRelu', 'Fused:reluGradOfSum', 'Fused:batchNormStatsRunning'],
    inputs: batchNormInputs(shape, seed, 4),
    reference: (xs) => {
      const [a, b, dOut] = xs.slice(6) as [tf.Tensor, tf.Tensor, tf.Tensor]
      return composedBatchNormStep(xs.slice(0, 6), (y, r) => twice(tf.relu(tf.add(y, r as tf.Tensor)), a, b), dOut)
    },
    step: (xs) => {
      const [a, b, dOut] = xs.slice(6) as [tf.Tensor, tf.Tensor, tf.Tensor]
      return fusedBatchNormStep(xs.slice(0, 6), (y, r) => twice(tf.relu(tf.add(y, r as tf.Tensor)), a, b), dOut)
    },
  }
}

const twice = (h: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.add(tf.mul(h, a), tf.mul(h, b))

/** relu(u·w + r) and its gradients: Add + ReLU. */
function addReluCase(shape: number[], seed: number): FusionCase {
  const f = (u: tf.Tensor, w: tf.Tensor, r: tf.Tensor): tf.Tensor => tf.relu(tf.add(tf.mul(u, w), r))
  const run = ([u, w, r, dOut]: readonly tf.Tensor[]): tf.Tensor[] => {
    const { value, grads } = tf.valueAndGrads(f)([u, w, r] as tf.Tensor[], dOut)
    return [value, ...grads]
  }
  return {
    name: `relu(u·w + r) [${shape}]`,
    fused: ['Fused:addRelu', 'Fused:reluGrad'],
    inputs: () => [0, 1, 2, 3].map((k) => seeded(shape, seed + k)),
    reference: run,
    step: run,
  }
}

/** Sums over every axis but the last (a linear layer's bias gradient): tfjs's transpose + row sum. */
function columnSumCase(shapes: number[][], seed: number): FusionCase {
  const run = (xs: readonly tf.Tensor[]): tf.Tensor[] => xs.map((x) => tf.sum(tf.mul(x, 2), x.shape.slice(0, -1).map((_, i) => i)))
  return {
    name: `column sums of ${shapes.map((s) => `[${s}]`).join(', ')}`,
    fused: ['Fused:columnSum'],
    inputs: () => shapes.map((shape, k) => seeded(shape, seed + k)),
    reference: run,
    step: run,
  }
}

/** Many tensors times one computed scalar (gradient clipping's scale): multi-tensor scale dispatches. */
function scaleManyCase(shapes: number[][], seed: number): FusionCase {
  const run = ([w, ...xs]: readonly tf.Tensor[]): tf.Tensor[] => {
    const scale = tf.sum(w as tf.Tensor)
    return xs.map((x, k) => (k % 2 === 0 ? tf.mul(x, scale) : tf.mul(scale, x)))
  }
  return {
    name: `${shapes.length} tensors times one scalar`,
    fused: ['Fused:scaleMany'],
    inputs: () => [seeded([5], seed), ...shapes.map((shape, k) => seeded(shape, seed + 1 + k))],
    reference: run,
    step: run,
  }
}

const cases: FusionCase[] = [
  batchNormReluCase([3, 5, 7, 5], 10),
  batchNormReluCase([1, 1, 3, 129], 20),
  batchNormAddReluCase([2, 3, 3, 17], 30),
  batchNormAddReluCase([4, 2, 5, 3], 40),
  addReluCase([3, 7, 11], 50),
  addReluCase([5, 257], 60),
  columnSumCase([[3, 5, 7], [257, 3], [1, 9], [2, 1, 33278]], 70),
  scaleManyCase([[3], [5, 7], [1001], [2, 3, 5], [17], [300, 7], [9], [2], [70001]], 80),
  scaleManyCase([[4], [6]], 90),
]

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

async function values(out: tf.Tensor[]): Promise<Float32Array[]> {
  const read = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose(out)
  return read
}

describe.skipIf(adapters === 0)(`compileStep's fused dispatches match cpu${adapters === 0 ? ' (skipped: no WebGPU adapter)' : ''}`, () => {
  const want = new Map<string, Float32Array[]>()
  beforeAll(async () => {
    await tf.setBackend('cpu')
    for (const c of cases) {
      const inputs = c.inputs()
      want.set(c.name, await values(tf.tidy(() => c.reference(inputs))))
      tf.dispose(inputs)
    }
    await startWebGpu()
    tf.env().set('WEBGPU_CPU_FORWARD', false)
  })
  afterAll(() => stopWebGpu())

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const inputs = c.inputs()
    const step = compileStep(c.step, { name: c.name })
    let got: Float32Array[] = []
    for (let call = 0; call < 4; call++) got = (await step.run(inputs)) as Float32Array[]
    const stats = step.stats()
    expect(stats.mode).toBe('compiled')
    for (const program of c.fused) expect(stats.programs[program] ?? 0, `${program} in ${JSON.stringify(stats.programs)}`).toBeGreaterThan(0)
    const expected = want.get(c.name) ?? []
    expect(got.length).toBe(expected.length)
    got.forEach((v, i) => expect(relError(v, expected[i] ?? new Float32Array()), `output ${i}`).toBeLessThanOrEqual(1e-4))
    step.dispose()
    tf.dispose(inputs)
  })

  // d/dx Σ (h + dropout(x))² = 2·(h + x·mask)·mask: the backward multiplies by the mask the forward wrote.
  it.each([
    ['alone', 'Fused:dropout', 3, (x: tf.Tensor): tf.Tensor => tf.dropout(x, 0.3)],
    ['with the residual Add', 'Fused:dropoutAdd', 4, (x: tf.Tensor): tf.Tensor => tf.add(tf.mul(x, 0.5), tf.dropout(x, 0.3))],
  ] as const)('tf.dropout %s: one dispatch, bit for bit the unfused replay of the same GPU draws', async (_name, program, saved, f) => {
    const keep = 0.7
    const x = tf.add(seeded([7, 33], 11), 2) // 231 elements: not a multiple of the workgroup; all > 0
    const fn = ([a]: readonly tf.Tensor[]): tf.Tensor[] => {
      const { value, grad } = tf.valueAndGrad((v: tf.Tensor) => tf.sum(tf.square(f(v))))(a as tf.Tensor)
      return [value, grad]
    }
    const run = async (fuse: boolean): Promise<{ values: Float32Array[]; programs: Record<string, number>; dispatches: number }> => {
      const step = compileStep(fn, { name: `dropout ${fuse}`, hostRandom: 'gpu-uniform', seed: 7, fuse })
      let values: Float32Array[] = []
      for (let call = 0; call < 4; call++) values = (await step.run([x])) as Float32Array[]
      const { programs, dispatches, mode } = step.stats()
      expect(mode).toBe('compiled')
      step.dispose()
      return { values, programs, dispatches }
    }
    const fused = await run(true)
    const unfused = await run(false)
    expect(fused.programs[program]).toBe(1)
    expect(fused.dispatches).toBeLessThanOrEqual(unfused.dispatches - saved)
    expect(fused.values).toEqual(unfused.values)
    // Alone: the gradient is 2·x/keep² where kept, 0 elsewhere; about keep of the elements are kept.
    if (program === 'Fused:dropout') {
      const xs = await x.data()
      const grad = fused.values[1] as Float32Array
      const kept = Array.from(grad).filter((g) => g !== 0).length
      grad.forEach((g, i) => {
        if (g !== 0) expect(Math.abs(g - (2 * (xs[i] as number)) / keep ** 2) / Math.abs(g)).toBeLessThan(1e-5)
      })
      expect(kept).toBeGreaterThan(231 * keep - 35) // binomial(231, 0.7): mean 162, sd 7
      expect(kept).toBeLessThan(231 * keep + 35)
    }
    x.dispose()
  })
})
