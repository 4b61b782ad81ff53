import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { createResNet, formatSummary, resnet18, summary } from '../src/index'
import type { ResNetStem } from '../src/index'
import { torchAnswers } from './_torch-reference'

const here = path.dirname(fileURLToPath(import.meta.url))

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

describe('summary of resnet18 / 200 classes / 3×64×64', () => {
  it('prints the report\'s torchsummary table line for line', () => {
    const model = resnet18({ numClasses: 200, seed: 0 })
    const expected = readFileSync(path.join(here, 'fixtures/resnet18-200-64.summary.txt'), 'utf8').split('\n')
    expect(formatSummary(summary(model, [3, 64, 64])).split('\n')).toEqual(expected)
    model.dispose()
  })

  it('exposes the rows and totals as data', () => {
    const model = resnet18({ numClasses: 200, seed: 0 })
    const s = summary(model, [3, 64, 64])
    model.dispose()
    expect(s.rows).toHaveLength(68)
    expect(s.rows[0]).toEqual({ name: 'Conv2d-1', type: 'Conv2d', outputShape: [-1, 64, 32, 32], params: 9408, trainable: true })
    expect(s.rows[67]).toEqual({ name: 'Linear-68', type: 'Linear', outputShape: [-1, 200], params: 102600, trainable: true })
    expect(s.totalParams).toBe(11_279_112)
    expect(s.nonTrainableParams).toBe(0)
  })

  it('leaves no tensors and no changed buffers behind', () => {
    const model = resnet18({ numClasses: 200, seed: 0 })
    const nbt = model.namedTensors().find((t) => t.name === 'bn1.num_batches_tracked')
    const meanBefore = Array.from(model.namedTensors().find((t) => t.name === 'bn1.running_mean')?.value.dataSync() ?? [])
    const { numTensors } = tf.memory()
    summary(model, [3, 64, 64])
    expect(tf.memory().numTensors).toBe(numTensors)
    expect(nbt?.value.dataSync()[0]).toBe(0)
    expect(Array.from(model.namedTensors().find((t) => t.name === 'bn1.running_mean')?.value.dataSync() ?? [])).toEqual(meanBefore)
    model.dispose()
  })
})

const reason = requireTorchOrSkipReason()

const CASES: [string, number, number, ResNetStem][] = [
  ['resnet18', 200, 64, 'imagenet'],
  ['resnet18', 200, 32, 'cifar'],
  ['resnet34', 1000, 64, 'imagenet'],
  ['resnet50', 1000, 64, 'imagenet'],
]

describe.skipIf(!!reason)('summary equals forward hooks on torchvision (torchsummary 1.5.1 algorithm)', () => {
  // Every case's torchvision summary from one Python process, started by the first test.
  let answers: Promise<unknown[]> | undefined

  it.each(CASES.map((c, i) => [...c, i] as const))('%s, %i classes, %ipx, %s stem', async (arch, numClasses, size, stem, i) => {
    answers ??= torchAnswers(CASES.map(([a, n, px, st]) => ['summary', a, String(n), String(px), st]))
    const torch = (await answers)[i] as {
      rows: { name: string; outputShape: number[]; params: number; trainable: boolean | null }[]
      text: string
    }
    const model = createResNet(arch, { numClasses, stem, seed: 0 })
    const ours = summary(model, [3, size, size])
    model.dispose()
    expect(ours.rows.map((r) => [r.name, r.outputShape, r.params, r.trainable])).toEqual(
      torch.rows.map((r) => [r.name, r.outputShape, r.params, r.trainable === true]),
    )
    expect(formatSummary(ours).split('\n')).toEqual(torch.text.split('\n'))
  })
})
