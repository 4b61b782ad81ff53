/**
 * compileStep on lavapipe against the eager cpu backend, on small training steps: the ResNet-18 layer graph at width 8
 * (test-utils' fixture, batch 4 at 64x64, lr 0.01) and a 1-layer Transformer LM of @tinylab/transformer-lm (lr 2), with train-loop's SGD
 * and clip_grad_norm_: losses within 1e-4 and parameters within 1e-3 relative after 6 steps (3 eager, 3 replayed),
 * eval outputs within 1e-4, flat tensor count and plan memory; and the errors for what a replay cannot do. The full
 * sizes are in compiled-step.slow.test.ts. Tiny batches and large learning rates amplify the float rounding that
 * separates webgpu from cpu (batch-norm over 2 values per channel), hence these settings; the replay itself equals the
 * eager webgpu step bit for bit, which is checked too.
 */
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import type { TrainingStepFixture } from '@tinylab/test-utils/training-steps'
import { narrowResnetTrainingStep, transformerTrainingStep } from '@tinylab/test-utils/training-steps'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileStep, listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'
import type { Run } from './_compiled-parity'
import { expectParity, train } from './_compiled-parity'

const STEPS = 6

const fixtures: Record<string, () => TrainingStepFixture> = {
  resnet18: () => narrowResnetTrainingStep({ batch: 4, size: 64, classes: 10, width: 8, lr: 0.01 }),
  transformer: () => transformerTrainingStep({ batch: 2, bptt: 6, ntoken: 30, emsize: 8, nhid: 12, nlayers: 1, nhead: 2, lr: 2 }),
}

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

describe.skipIf(adapters === 0)('compileStep: replayed training steps equal eager cpu', () => {
  const cpu = new Map<string, Run>()
  const eagerWebGpu = new Map<string, Run>()
  beforeAll(async () => {
    await tf.setBackend('cpu')
    for (const [name, make] of Object.entries(fixtures)) cpu.set(name, await train(make, false, STEPS))
    await startWebGpu()
    tf.env().set('WEBGPU_CPU_FORWARD', false)
    for (const [name, make] of Object.entries(fixtures)) eagerWebGpu.set(name, await train(make, false, STEPS))
  })
  afterAll(() => stopWebGpu())

  it.each(Object.keys(fixtures))('%s: losses 1e-4, parameters 1e-3, eval logits 1e-4, flat tensors and memory', async (name) => {
    const got = await train(fixtures[name] as () => TrainingStepFixture, true, STEPS)
    expectParity(got, cpu.get(name) as Run)
    const eager = eagerWebGpu.get(name) as Run
    expect(got.losses).toEqual(eager.losses)
    for (const [n, v] of eager.final) expect(got.final.get(n), n).toEqual(v)
    expect(got.evalAfter).toEqual(eager.evalAfter)
  })
})

describe.skipIf(adapters === 0)('compileStep: what a replay cannot do is an error that names it', () => {
  beforeAll(async () => {
    await startWebGpu()
    tf.env().set('WEBGPU_CPU_FORWARD', false)
  })
  afterAll(() => stopWebGpu())

  /** Runs calls 0-2 (eager and traced) and returns the step. */
  async function warm(fn: (inputs: readonly tf.Tensor[]) => tf.Tensor[], inputs: tf.Tensor[], options = {}): Promise<ReturnType<typeof compileStep>> {
    const step = compileStep(fn, { name: 'probe', ...options })
    for (let i = 0; i < 3; i++) await step.run(inputs)
    return step
  }

  it('a replay updates a variable in place and matches eager arithmetic; a new shape names the input and both shapes', async () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3, 4]))
    const x = tf.tensor1d([0.5, 0.25, 2, 1])
    const step = await warm(([v]) => {
      w.assign(tf.add(tf.mul(w, v as tf.Tensor), 1))
      return [tf.sum(w)]
    }, [x])
    expect(step.stats().mode).toBe('compiled')
    const [sum] = await step.run([x])
    // w after 4 calls of w = w*x + 1, computed here in float64.
    const want = [1, 2, 3, 4].map((v, i) => {
      let r = v
      for (let k = 0; k < 4; k++) r = r * [0.5, 0.25, 2, 1][i]! + 1
      return r
    })
    expect(Array.from(await w.data())).toEqual(want)
    expect((sum as Float32Array)[0]).toBeCloseTo(want.reduce((a, b) => a + b), 4)
    await expect(step.run([tf.tensor1d([1, 2])])).rejects.toThrow(/input 0 is float32\[2\] but the step was traced with float32\[4\]/)
    step.dispose()
    tf.dispose([w, x])
  })

  it('profile() times every dispatch of a replay on the GPU, names its program and the shapes a FLOP count needs', async () => {
    const w = tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 3))
    const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 4)
    const fn = ([a]: readonly tf.Tensor[]): tf.Tensor[] => [tf.sum(tf.relu(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))]
    const step = compileStep(fn, { name: 'probe' })
    await expect(step.profile([x])).rejects.toThrow(/profile\(\) needs a compiled plan \(mode warming-up/)
    for (let i = 0; i < 3; i++) await step.run([x])
    const [want] = await step.run([x])
    const { values, dispatches } = await step.profile([x])
    expect(values[0]).toEqual(want)
    const counts: Record<string, number> = {}
    for (const d of dispatches) counts[d.program] = (counts[d.program] ?? 0) + 1
    expect(counts).toEqual(step.stats().programs)
    for (const d of dispatches) expect(Number.isFinite(d.ms) && d.ms >= 0, `${d.program} ${d.ms} ms`).toBe(true)
    // The output's shape, then the inputs': the convolution's input is read first, the sum comes last.
    expect(dispatches[0]?.shapes?.[1]).toEqual([1, 6, 6, 2])
    expect(dispatches.at(-1)?.shapes).toEqual([[1], [1, 6, 6, 4]])
    step.dispose()
    tf.dispose([w, x])
  })

  it('reads between replays see each replay (tfjs caches values at the first read); a value assigned between replays is used', async () => {
    const w = tf.variable(tf.tensor1d([1, 2]))
    const frozen = tf.variable(tf.tensor1d([10, 20])) // read by the step, assigned outside it (a data-parallel load)
    const x = tf.tensor1d([1, 1])
    const step = await warm(([v]) => {
      w.assign(tf.add(w, v as tf.Tensor))
      return [tf.sum(tf.mul(w, frozen))]
    }, [x])
    expect(Array.from(await w.data())).toEqual([4, 5])
    await step.run([x])
    expect(Array.from(await w.data())).toEqual([5, 6])
    frozen.assign(tf.tensor1d([1, 2]))
    const [dot] = await step.run([x])
    expect(Array.from(await w.data())).toEqual([6, 7])
    expect(Array.from(dot as Float32Array)).toEqual([6 * 1 + 7 * 2])
    step.dispose()
    tf.dispose([w, frozen, x])
  })

  it('variables of one size assigned between replays each reach the replay (tfjs may reuse a released buffer for the next upload)', async () => {
    const vs = [0, 1, 2, 3].map((i) => tf.variable(tf.fill([64], i)))
    const x = tf.ones([64])
    const step = await warm(([v]) => [tf.stack(vs.map((w) => tf.sum(tf.mul(w, v as tf.Tensor))))], [x])
    for (let round = 1; round <= 2; round++) {
      // CPU values, as a data-parallel replica loads its parameters: each is uploaded when the replay copies it in.
      // The assigned tensors are disposed (tidy): the variables hold the only reference to their data.
      tf.tidy(() => vs.forEach((w, i) => w.assign(tf.tensor1d(new Float32Array(64).fill(10 * round + i)))))
      const [sums] = await step.run([x])
      expect(Array.from(sums as Float32Array), `round ${round}`).toEqual([0, 1, 2, 3].map((i) => 64 * (10 * round + i)))
    }
    step.dispose()
    tf.dispose([...vs, x])
  })

  it('host-generated values that change every call (tf.dropout masks) are refused, naming the upload', async () => {
    const x = tf.ones([4, 8])
    let seed = 1
    await expect(warm(([a]) => [tf.sum(tf.dropout(a as tf.Tensor, 0.5, undefined, seed++))], [x])).rejects.toThrow(
      /upload \d+ \(float32\[4,8\]\) has different values in consecutive calls.*dropout/,
    )
    tf.dispose(x)
  })

  it("onUnsupported: 'eager' prints one line and keeps computing eagerly (here: a variable created inside the step)", async () => {
    const lines: string[] = []
    const warn = console.warn
    console.warn = (line: string) => lines.push(line)
    const x = tf.tensor1d([1, 2, 3])
    const made: tf.Variable[] = []
    try {
      const step = await warm(([a]) => {
        made.push(tf.variable(tf.mul(a as tf.Tensor, 2)))
        return [tf.sum(made[made.length - 1] as tf.Variable)]
      }, [x], { onUnsupported: 'eager' })
      expect(step.stats().mode).toBe('eager')
      expect((await step.run([x]))[0]?.[0]).toBe(12)
    } finally {
      console.warn = warn
    }
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/compileStep 'probe': running eagerly: the step creates tf.Variable/)
    tf.dispose([x, ...made])
  })
})
