/** Shared by the compiled-step parity tests: N training steps eager (any backend) or compiled (webgpu), and the bars. */
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import type { TrainingStepFixture } from '@tinylab/test-utils/training-steps'
import { expect } from 'vitest'
import { compileStep } from '../src/index'

export interface Run {
  losses: number[]
  logits: Float32Array[]
  /** Eval-mode outputs before training (a forward-only plan on the initial weights) and after it. */
  evalBefore: Float32Array
  evalAfter: Float32Array
  final: Map<string, Float32Array>
  tensors: number[]
  planBytes: number[]
}

export async function train(make: () => TrainingStepFixture, compiled: boolean, steps: number): Promise<Run> {
  const f = make()
  const run: Run = { losses: [], logits: [], evalBefore: new Float32Array(), evalAfter: new Float32Array(), final: new Map(), tensors: [], planBytes: [] }
  const step = compileStep(f.step, { name: 'train' })
  const evaluate = compileStep(f.evaluate, { name: 'eval' })
  const evalInputs = f.inputs(100)
  // Four calls: eager, two traces, one replay; the same plan runs again after training and must see the new weights.
  for (let i = 0; i < 4; i++) run.evalBefore = ((compiled ? await evaluate.run(evalInputs) : await eager(f.evaluate, evalInputs))[0]) as Float32Array
  for (let i = 0; i < steps; i++) {
    // On cpu every await resolves at once: without a turn of the event loop between steps, vitest's RPC to the worker
    // goes unanswered for the whole run (seconds per step at issue sizes) and times out.
    await new Promise((resolve) => setImmediate(resolve))
    const inputs = f.inputs(i)
    const [loss, logits] = compiled ? await step.run(inputs) : await eager(f.step, inputs)
    run.losses.push((loss as Float32Array)[0] as number)
    if (logits !== undefined) run.logits.push(logits as Float32Array)
    tf.dispose(inputs)
    run.tensors.push(tf.memory().numTensors)
    run.planBytes.push(step.stats().memory?.totalBytes ?? 0)
  }
  run.evalAfter = ((compiled ? await evaluate.run(evalInputs) : await eager(f.evaluate, evalInputs))[0]) as Float32Array
  tf.dispose(evalInputs)
  if (compiled) {
    expect(step.stats().mode).toBe('compiled')
    expect(step.stats().replays).toBe(steps - 3)
    expect(evaluate.stats().mode).toBe('compiled')
    expect(evaluate.stats().replays).toBe(2)
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

/**
 * Issue 15's bars: losses 1e-4 and parameters 1e-3 relative, eval logits 1e-4 (on the initial weights: after training,
 * float rounding grown over the steps is measured by the parameters' bar); replays add no tensors or memory.
 */
export function expectParity(got: Run, want: Run): void {
  const steps = got.losses.length
  got.losses.forEach((l, i) => expect(Math.abs(l - (want.losses[i] as number)) / Math.abs(want.losses[i] as number), `loss ${i}`).toBeLessThanOrEqual(1e-4))
  expect(got.logits.length).toBe(want.logits.length)
  if (want.logits.length > 0) expect(relError(got.logits[steps - 1] as Float32Array, want.logits[steps - 1] as Float32Array), 'last logits').toBeLessThanOrEqual(1e-3)
  for (const [n, v] of want.final) expect(relError(got.final.get(n) ?? new Float32Array(), v), n).toBeLessThanOrEqual(1e-3)
  expect(relError(got.evalBefore, want.evalBefore), 'eval logits').toBeLessThanOrEqual(1e-4)
  expect(relError(got.evalAfter, want.evalAfter), 'eval logits after training').toBeLessThanOrEqual(1e-3)
  expect(got.losses[steps - 1]).not.toBe(got.losses[0])
  // Replays (call 3 on) create no tensors and no GPU memory.
  expect(new Set(got.tensors.slice(3)).size).toBe(1)
  expect(new Set(got.planBytes.slice(3)).size).toBe(1)
}
