// The context study's measurements on small untrained models and a random token stream (seconds on 2 cores): the
// GCNN's input gradients vanish exactly from its receptive field on, the Transformer's reach the whole window, and
// the GCNN's loss stops changing once the context fills its window. The end-to-end `--quick` run on WikiText-2 is in
// context-study-cli.slow.test.ts.
import * as tf from '@tensorflow/tfjs-core'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '@tinylab/multi-device'
import { GCNNModel, RNNModel, TransformerModel } from '@tinylab/transformer-lm'
import { UsageError } from '@tinylab/cli-flags'
import { parseStudyFlags } from '../src/context-study/flags'
import { contextStudyMain } from '../src/context-study/main'
import { lossWithContext, sensitivityByDistance, targetPositions } from '../src/context-study/measure'
import { probeFor } from '../src/context-study/probe'

const NTOKEN = 40
const WINDOW = 16
// A fixed pseudo-random stream (LCG), so the test needs no data.
const STREAM = Int32Array.from({ length: 400 }, (_, i) => (i * 7919 + ((i * i) % 13)) % NTOKEN)

beforeAll(async () => {
  await initBackend({ device: 'wasm' })
})

describe('sensitivity vs distance', () => {
  const positions = targetPositions(STREAM.length, WINDOW, 6)

  it("is exactly zero beyond the GCNN's receptive field and non-zero inside it", async () => {
    const model = new GCNNModel({ ntoken: NTOKEN, ninp: 8, nhid: 8, nlayers: 2, kernelSize: 3, dropout: 0 })
    const probe = probeFor('GCNN', model, WINDOW)
    expect(probe.receptiveField).toBe(5)
    const s = await sensitivityByDistance(probe, STREAM, positions, WINDOW)
    expect(s).toHaveLength(WINDOW)
    for (let d = 0; d < 5; d++) expect(s[d], `d=${d}`).toBeGreaterThan(1e-6)
    for (let d = 5; d < WINDOW; d++) expect(s[d], `d=${d}`).toBe(0)
    model.dispose()
  })

  it("is non-zero at every distance of the Transformer's window, and of the LSTM's", async () => {
    const numTensors = tf.memory().numTensors
    for (const [name, model] of [
      ['Transformer', new TransformerModel({ ntoken: NTOKEN, ninp: 8, nhead: 2, nhid: 8, nlayers: 2, dropout: 0 })],
      ['LSTM', new RNNModel({ rnnType: 'LSTM', ntoken: NTOKEN, ninp: 8, nhid: 8, nlayers: 2, dropout: 0 })],
    ] as const) {
      const s = await sensitivityByDistance(probeFor(name, model, WINDOW), STREAM, positions, WINDOW)
      for (let d = 0; d < WINDOW; d++) expect(s[d], `${name} d=${d}`).toBeGreaterThan(0)
      model.dispose()
    }
    expect(tf.memory().numTensors).toBe(numTensors)
  })
})

describe('loss vs context', () => {
  it("stops changing for the GCNN once the context fills its window, and not for the Transformer", async () => {
    const positions = targetPositions(STREAM.length, 64, 20)
    const gcnn = new GCNNModel({ ntoken: NTOKEN, ninp: 8, nhid: 8, nlayers: 2, kernelSize: 3, dropout: 0 })
    const g = probeFor('GCNN', gcnn, WINDOW)
    const [g2, g5, g8, g32] = await Promise.all([2, 5, 8, 32].map((k) => lossWithContext(g, STREAM, positions, k)))
    expect(Math.abs(g2! - g5!)).toBeGreaterThan(1e-4)
    expect(g8).toBeCloseTo(g5!, 5)
    expect(g32).toBeCloseTo(g5!, 5)
    const transformer = new TransformerModel({ ntoken: NTOKEN, ninp: 8, nhead: 2, nhid: 8, nlayers: 2, dropout: 0 })
    const t = probeFor('Transformer', transformer, WINDOW)
    const [t5, t32] = await Promise.all([5, 32].map((k) => lossWithContext(t, STREAM, positions, k)))
    expect(Math.abs(t32! - t5!)).toBeGreaterThan(1e-5)
    gcnn.dispose()
    transformer.dispose()
  })
})

describe('pnpm wordlm context-study flags', () => {
  it('--quick swaps in small models and a short budget; explicit flags still win', () => {
    const full = parseStudyFlags([])
    expect(full).toMatchObject({ quick: false, maxBatches: 0, epochs: 1, bptt: 128, emsize: 200, gcnnLayers: 4, kernelSize: 4 })
    const quick = parseStudyFlags(['--quick', '--max-batches', '7'])
    expect(quick).toMatchObject({ quick: true, maxBatches: 7, bptt: 32, emsize: 16, gcnnLayers: 2, kernelSize: 3, evalTokens: 4000 })
  })

  it('bad values and unusable paths are usage errors naming the flag, before any work', async () => {
    expect(() => parseStudyFlags(['--kernel-size', '0'])).toThrow(new UsageError('argument --kernel-size: invalid value: 0 (must be >= 1)'))
    expect(() => parseStudyFlags(['--emsize', '10', '--nhead', '3'])).toThrow('argument --nhead: 3 must divide --emsize 10')
    const dir = mkdtempSync(path.join(tmpdir(), 'context-study-flags-'))
    const file = path.join(dir, 'a-file')
    writeFileSync(file, '')
    await expect(contextStudyMain(['--data', dir, '--out', file])).rejects.toThrow(`argument --out: '${file}' exists and is not a folder`)
    await expect(contextStudyMain(['--data', dir, '--out', path.join(dir, 'out'), '--checkpoints', dir])).rejects.toThrow(
      `argument --checkpoints: '${path.join(dir, 'Transformer.pt')}' does not exist`,
    )
    await expect(contextStudyMain(['--data', path.join(dir, 'missing'), '--out', path.join(dir, 'out')])).rejects.toThrow("argument --data: '")
  })
})
