import { initBackend } from '@tinylab/multi-device'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { createResNet, type NamedTensor, type ResNetStem } from '../src/index'
import { torchAnswers } from './_torch-reference'

const reason = requireTorchOrSkipReason()

const KEY_CASES: [string, number, ResNetStem][] = [
  ['resnet18', 200, 'imagenet'],
  ['resnet18', 200, 'cifar'],
  ['resnet34', 1000, 'imagenet'],
  ['resnet50', 1000, 'imagenet'],
]
// Everything this file asks torchvision, from one Python process, started by the first test that needs it.
let answers: Promise<unknown[]> | undefined
const torchAnswer = async (i: number): Promise<unknown> => (await (answers ??= torchAnswers([['counts'], ...KEY_CASES.map(([a, n, s]) => ['keys', a, String(n), s])])))[i]

/** The torch shape a TinyLab tensor corresponds to, by its documented layout. */
function torchShape(t: NamedTensor): number[] {
  const s = t.value.shape
  if (t.layout === 'conv2d-hwio') return [s[3], s[2], s[0], s[1]] as number[]
  if (t.layout === 'linear-io') return [s[1], s[0]] as number[]
  return [...s]
}

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

describe.skipIf(!!reason)('names, order and sizes match torchvision', () => {
  it('has torchvision\'s parameter counts at 1000 classes', async () => {
    const torch = (await torchAnswer(0)) as Record<string, number>
    expect(torch).toEqual({ resnet18: 11_689_512, resnet34: 21_797_672, resnet50: 25_557_032 })
    for (const arch of ['resnet18', 'resnet34', 'resnet50']) {
      const model = createResNet(arch, { seed: 0 })
      expect(model.parameterCount(), arch).toBe(torch[arch])
      model.dispose()
    }
  })

  it('has 11,279,112 parameters with a 200-class head', () => {
    const model = createResNet('resnet18', { numClasses: 200, seed: 0 })
    expect(model.parameterCount()).toBe(11_279_112)
    model.dispose()
  })

  it.each(KEY_CASES.map((c, i) => [...c, i] as const))('%s/%i/%s: state_dict keys in order, shapes through the layout', async (arch, numClasses, stem, i) => {
    const torch = (await torchAnswer(1 + i)) as { name: string; shape: number[] }[]
    const model = createResNet(arch, { numClasses, stem, seed: 0 })
    const ours = model.namedTensors()
    expect(ours.map((t) => ({ name: t.name, shape: torchShape(t) }))).toEqual(torch)
    // buffers are exactly BN's running stats and counters; parameters() is the rest, in the same order
    expect(ours.filter((t) => t.kind === 'buffer').every((t) => /\.(running_mean|running_var|num_batches_tracked)$/.test(t.name))).toBe(true)
    expect(model.parameters().map((t) => t.name)).toEqual(ours.filter((t) => !/\.(running_mean|running_var|num_batches_tracked)$/.test(t.name)).map((t) => t.name))
    expect(ours.filter((t) => t.name.endsWith('num_batches_tracked')).every((t) => t.value.dtype === 'int32')).toBe(true)
    model.dispose()
  })
})
