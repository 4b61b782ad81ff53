// `pnpm resnet train --device webgpu` validates through compiled plans: train-loop's classifierEvaluator with
// @tinylab/webgpu-backend's compileForward, on lavapipe, on the real ResNet-18 (resnet-models; 10 classes, 16x16
// images, batch 4, BatchNorm running statistics set to non-trivial values): each batch's loss within 1e-4 relative of
// the eager webgpu evaluation and of the cpu backend's, the same top-1/top-5 accuracies, one plan per batch shape that
// replays from its fourth batch, and no tensors left by any call. Slow file: ~35 s on lavapipe (ResNet-18's pipelines).
import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resnet18 } from '@tinylab/resnet-models'
import { classifierEvaluator, type BatchResult, type ForwardCompiler } from '@tinylab/train-loop'
import { compileForward, listWebGpuAdapters, startWebGpu, stopWebGpu, type CompiledStepStats } from '@tinylab/webgpu-backend'

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const CLASSES = 10
const SIZE = 16
/** Six batches of 4 (one plan: 3 eager calls, 3 replays) and a last one of 3 (its own plan, called once: eager). */
const BATCHES = [4, 4, 4, 4, 4, 4, 3]

function seeded(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return lo + (s / 4294967296) * (hi - lo)
  })
}

async function validate(compile?: ForwardCompiler): Promise<{ results: BatchResult[]; tensors: number[]; stats: Record<string, CompiledStepStats> }> {
  const model = resnet18({ numClasses: CLASSES, seed: 5 })
  model.namedTensors().forEach(({ name, value }, i) => {
    if (!name.endsWith('running_mean') && !name.endsWith('running_var')) return
    const [lo, hi] = name.endsWith('running_mean') ? [-0.2, 0.2] : [0.5, 1.5]
    const v = tf.tensor(seeded(value.size, 100 + i, lo as number, hi as number), value.shape)
    value.assign(v)
    v.dispose()
  })
  let stats: Record<string, CompiledStepStats> = {}
  const recording: ForwardCompiler | undefined =
    compile &&
    ((fn, options) => {
      const forward = compileForward(fn, options)
      return { run: (inputs) => forward.run(inputs), dispose: () => ((stats = forward.stats()), forward.dispose()) }
    })
  const evaluator = classifierEvaluator(model, { topk: [1, 5], compile: recording })
  const results: BatchResult[] = []
  const tensors: number[] = []
  for (const [i, n] of BATCHES.entries()) {
    const x = tf.tensor4d(seeded(n * SIZE * SIZE * 3, i, -2, 2), [n, SIZE, SIZE, 3])
    const y = tf.tensor1d(Int32Array.from(seeded(n, 50 + i, 0, CLASSES), Math.floor), 'int32')
    results.push(await evaluator.evaluate(x, y))
    tf.dispose([x, y])
    tensors.push(tf.memory().numTensors)
  }
  evaluator.dispose()
  model.dispose()
  return { results, tensors, stats }
}

describe.skipIf(adapters === 0)('ResNet-18 validation compiled on webgpu', () => {
  let cpu: Awaited<ReturnType<typeof validate>>
  beforeAll(async () => {
    await tf.setBackend('cpu')
    cpu = await validate()
    await startWebGpu()
  })
  afterAll(() => stopWebGpu())

  it('the eager losses and accuracies; one plan per batch shape, replayed; no tensors left', async () => {
    const eager = await validate()
    const before = tf.memory().numTensors
    const got = await validate(compileForward)
    expect(tf.memory().numTensors).toBe(before)
    got.results.forEach((r, i) => {
      for (const want of [eager, cpu]) {
        const w = want.results[i] as BatchResult
        expect(Math.abs(r.loss - w.loss) / w.loss, `batch ${i}: ${r.loss} vs ${w.loss}`).toBeLessThanOrEqual(1e-4)
        expect(r.acc).toEqual(w.acc)
      }
    })
    expect(got.stats['4x16x16x3,4']).toMatchObject({ mode: 'compiled', eagerCalls: 3, replays: 3 })
    expect(got.stats['3x16x16x3,3']).toMatchObject({ mode: 'warming-up', eagerCalls: 1, replays: 0 })
    expect(new Set(got.tensors).size, String(got.tensors)).toBe(1)
  })
})
