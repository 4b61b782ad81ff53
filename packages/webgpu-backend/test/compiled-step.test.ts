/**
 * compileStep on lavapipe against the eager cpu backend, on small versions of the real training steps (the ResNet-18
 * of @tinylab/resnet-models at 16x16, a 1-layer Transformer LM of @tinylab/transformer-lm; train-loop's SGD and
 * clip_grad_norm_): losses within 1e-4 and parameters within 1e-3 relative after 8 steps (3 eager, 5 replayed), eval
 * logits within 1e-4, flat tensor count and plan memory; and the errors for what a replay cannot do.
 */
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import type { TrainingStepFixture } from '@tinylab/test-utils/training-steps'
import { resnetTrainingStep, transformerTrainingStep } from '@tinylab/test-utils/training-steps'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileStep, listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'

const STEPS = 8

const fixtures: Record<string, () => TrainingStepFixture> = {
  resnet18: () => resnetTrainingStep({ batch: 2, size: 16, classes: 10 }),
  transformer: () => transformerTrainingStep({ batch: 2, bptt: 6, ntoken: 30, emsize: 8, nhid: 12, nlayers: 1, nhead: 2 }),
}

interface Run {
  losses: number[]
  logits: Float32Array[]
  evalLogits: Float32Array
  final: Map<string, Float32Array>
  tensors: number[]
  planBytes: number[]
}

async function train(make: () => TrainingStepFixture, compiled: boolean): Promise<Run> {
  const f = make()
  const run: Run = { losses: [], logits: [], evalLogits: new Float32Array(), final: new Map(), tensors: [], planBytes: [] }
  const step = compileStep(f.step, { name: 'train' })
  const evaluate = compileStep(f.evaluate, { name: 'eval' })
  for (let i = 0; i < STEPS; i++) {
    const inputs = f.inputs(i)
    const [loss, logits] = compiled ? await step.run(inputs) : await eager(f.step, inputs)
    run.losses.push((loss as Float32Array)[0] as number)
    run.logits.push(logits as Float32Array)
    tf.dispose(inputs)
    run.tensors.push(tf.memory().numTensors)
    run.planBytes.push(step.stats().memory?.totalBytes ?? 0)
  }
  const evalInputs = f.inputs(100)
  for (let i = 0; i < 4; i++) run.evalLogits = ((compiled ? await evaluate.run(evalInputs) : await eager(f.evaluate, evalInputs))[0]) as Float32Array
  tf.dispose(evalInputs)
  if (compiled) {
    expect(step.stats().mode).toBe('compiled')
    expect(step.stats().replays).toBe(STEPS - 3)
    expect(evaluate.stats().mode).toBe('compiled')
  }
  for (const t of f.namedTensors()) run.final.set(t.name, Float32Array.from(await t.value.data()))
  step.dispose()
  evaluate.dispose()
  f.dispose()
  return run
}

async function eager(fn: (inputs: readonly tf.Tensor[]) => tf.Tensor[], inputs: tf.Tensor[]): Promise<Float32Array[]> {
  const out = tf.tidy(() => fn(inputs))
  const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>))
  tf.dispose(out)
  return values
}

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

describe.skipIf(adapters === 0)('compileStep: replayed training steps equal eager cpu', () => {
  const cpu = new Map<string, Run>()
  beforeAll(async () => {
    await tf.setBackend('cpu')
    for (const [name, make] of Object.entries(fixtures)) cpu.set(name, await train(make, false))
    await startWebGpu()
    tf.env().set('WEBGPU_CPU_FORWARD', false)
  })
  afterAll(() => stopWebGpu())

  it.each(Object.keys(fixtures))('%s: losses 1e-4, parameters 1e-3, eval logits 1e-4, flat tensors and memory', async (name) => {
    const want = cpu.get(name) as Run
    const got = await train(fixtures[name] as () => TrainingStepFixture, true)
    got.losses.forEach((l, i) => expect(Math.abs(l - (want.losses[i] as number)) / Math.abs(want.losses[i] as number), `loss ${i}`).toBeLessThanOrEqual(1e-4))
    expect(relError(got.logits[STEPS - 1] as Float32Array, want.logits[STEPS - 1] as Float32Array)).toBeLessThanOrEqual(1e-3)
    for (const [n, v] of want.final) expect(relError(got.final.get(n) ?? new Float32Array(), v), n).toBeLessThanOrEqual(1e-3)
    expect(relError(got.evalLogits, want.evalLogits)).toBeLessThanOrEqual(1e-4)
    expect(got.losses[STEPS - 1]).not.toBe(got.losses[0])
    // Replays (steps 4..8) create no tensors and no GPU memory.
    expect(new Set(got.tensors.slice(3)).size).toBe(1)
    expect(new Set(got.planBytes.slice(3)).size).toBe(1)
  })
})
