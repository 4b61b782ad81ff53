// `--device webgpu` evaluation and generation through compiled plans (@tinylab/webgpu-backend compileForward, handed to
// transformer-lm's evaluateLm and generate as their `compile` hook), on lavapipe with tiny models of every kind: the
// evaluation loss equals the eager webgpu one and wasm's within 1e-4 relative, generation draws the same words for a seed
// as eager webgpu and wasm, the plans replay (stats mode 'compiled'), and no call leaves tensors behind.
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '@tinylab/multi-device'
import type { ForwardCompiler } from '@tinylab/train-loop'
import { buildLanguageModel, evaluateLm, generate, type ModelArgs } from '@tinylab/transformer-lm'
import { batchify, bpttBatches } from '@tinylab/wikitext-data'
import { compileForward, listWebGpuAdapters, stopWebGpu, type CompiledStepStats } from '@tinylab/webgpu-backend'

const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const NTOKENS = 50
const MODELS = ['LSTM', 'GRU', 'Transformer', 'GCNN'] as const
const args = (model: string): ModelArgs => ({ model, ntokens: NTOKENS, emsize: 8, nhid: 8, nlayers: 2, nhead: 2, dropout: 0, tied: false, seed: 3, kernel_size: 3 })
// 34 rows of 3 columns: eight batches of 4 rows (one plan, replayed from the fourth) and a last one of 1.
const SOURCE = batchify(Int32Array.from({ length: 102 }, (_, i) => (i * 37 + (i >> 2)) % NTOKENS), 3)
const BPTT = 4
const WORDS = 30
/** Replays of the generation's plans: the RNNs' one from word 4; the GCNN's (receptive field 5) from word 8; the Transformer's buckets of 16 and 32 from their fourth word. */
const GENERATION_REPLAYS: Record<string, number> = { LSTM: 27, GRU: 27, GCNN: 30 - 4 - 3, Transformer: 13 + 11 }
const GENERATE = { words: WORDS, temperature: 0.8, seed: 7, lengthBucket: 16 }

interface Outcome {
  evalLoss: number
  words: number[]
  /** The plans' stats when they were freed (compiled runs). */
  plans: Record<string, CompiledStepStats>[]
  /** Tensors alive after each generated word, and after evaluation and generation beside before. */
  perWord: number[]
  leaked: number
}

/** compileForward, recording every plan's stats when the caller frees it. */
function recording(plans: Record<string, CompiledStepStats>[]): ForwardCompiler {
  return (fn, options) => {
    const forward = compileForward(fn, options)
    return { run: (inputs) => forward.run(inputs), dispose: () => (plans.push(forward.stats()), forward.dispose()) }
  }
}

async function outcome(model: string, compiled: boolean): Promise<Outcome> {
  const before = tf.memory().numTensors
  const lm = buildLanguageModel(args(model))
  // Weights 6x their initial scale: peaked next-word distributions (a random model's are nearly uniform, and a wrong
  // log-probability would then hardly change a draw).
  for (const { value } of lm.parameters()) {
    const scaled = tf.mul(value, 6)
    value.assign(scaled)
    scaled.dispose()
  }
  const plans: Record<string, CompiledStepStats>[] = []
  const compile = compiled ? recording(plans) : undefined
  const r = await evaluateLm(lm, bpttBatches(SOURCE, BPTT), { compile })
  const words: number[] = []
  const perWord: number[] = []
  for await (const id of generate(lm, { ...GENERATE, compile })) {
    words.push(id)
    perWord.push(tf.memory().numTensors)
  }
  lm.dispose()
  return { evalLoss: (r?.total ?? NaN) / (r?.rows ?? NaN), words, plans, perWord, leaked: tf.memory().numTensors - before }
}

describe.skipIf(adapters === 0)('evaluation and generation compiled on webgpu', () => {
  const wasm = new Map<string, Outcome>()
  beforeAll(async () => {
    await initBackend({ device: 'wasm' })
    for (const m of MODELS) wasm.set(m, await outcome(m, false))
    await initBackend({ device: 'webgpu' })
  })
  afterAll(() => stopWebGpu())

  it.each(MODELS)('%s: the eager losses and words, replayed plans, no tensors left', async (model) => {
    const eager = await outcome(model, false)
    const got = await outcome(model, true)
    const want = wasm.get(model) as Outcome
    expect(Math.abs(got.evalLoss - eager.evalLoss) / eager.evalLoss).toBeLessThanOrEqual(1e-5)
    expect(Math.abs(got.evalLoss - want.evalLoss) / want.evalLoss).toBeLessThanOrEqual(1e-4)
    expect(new Set(got.words).size).toBeGreaterThan(5) // a real draw, not a constant
    expect(got.words).toEqual(eager.words)
    expect(got.words).toEqual(want.words)
    const [evalPlans, generatePlans] = got.plans as [Record<string, CompiledStepStats>, Record<string, CompiledStepStats>]
    const evalBatch = Object.values(evalPlans).find((s) => s.eagerCalls + s.replays === 8)
    expect(evalBatch).toMatchObject({ mode: 'compiled', eagerCalls: 3, replays: 5 })
    const replayed = Object.values(generatePlans).filter((s) => s.mode === 'compiled')
    expect(replayed.length, JSON.stringify(generatePlans)).toBeGreaterThan(0)
    expect(replayed.reduce((n, s) => n + s.replays, 0)).toBe(GENERATION_REPLAYS[model])
    expect(got.leaked).toBe(0)
    expect(new Set(got.perWord.slice(5)).size, String(got.perWord)).toBe(1)
  })
})
