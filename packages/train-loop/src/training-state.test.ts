import * as tf from '@tensorflow/tfjs-core'
import { asTrainingState, decodeCheckpoint, encodeCheckpoint, type NamedTensor } from '@tinylab/checkpoint-io'
import { beforeAll, describe, expect, it } from 'vitest'
import '../test/_tfjs'
import { CosineAnnealingLR, StepLR } from './lr-scheduler'
import { SGD } from './sgd'
import { encodeTrainingState, restoreTrainingState, savedSchedulerType, type TrainingParts } from './training-state'

/** A Linear layer (tfjs [in, out], torch [out, in]) and a BatchNorm-like buffer. */
function model(seed: number): NamedTensor[] {
  return [
    { name: 'fc.weight', value: tf.variable(tf.randomNormal([3, 2], 0, 1, 'float32', seed)), layout: 'linear-io', kind: 'parameter' },
    { name: 'fc.bias', value: tf.variable(tf.randomNormal([2], 0, 1, 'float32', seed + 1)), layout: 'same', kind: 'parameter' },
    { name: 'bn.num_batches_tracked', value: tf.variable(tf.scalar(seed, 'int32'), false), layout: 'same', kind: 'buffer' },
  ]
}

function parts(seed: number): TrainingParts {
  const named = model(seed)
  const params = named.filter((t) => t.kind === 'parameter')
  const optimizer = new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 })
  return { model: named, params, optimizer, scheduler: new StepLR(optimizer, { stepSize: 2, gamma: 0.5 }), type: 'step', modelName: 'Net' }
}

const read = (p: TrainingParts): number[][] => p.model.map((t) => [...t.value.dataSync()])
const momentum = (p: TrainingParts): number[][] => Object.values(p.optimizer.stateDict().state).map((s) => [...(s.momentum_buffer?.dataSync() ?? [])])

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('encodeTrainingState / restoreTrainingState', () => {
  it("round-trips weights, buffers, momentum, the schedule and the loop's position through a .pth checkpoint", async () => {
    const a = parts(1)
    a.optimizer.step({ 'fc.weight': tf.ones([3, 2]), 'fc.bias': tf.ones([2]) })
    for (let e = 0; e < 3; e++) (a.scheduler as StepLR).step()
    const position = { epoch: 4, batch: 7, globalStep: 31, bestAcc1: 12.5, meters: { loss: 9, acc1: 40, acc5: 80, count: 7 } }
    const saved = await encodeTrainingState(a, position, { arch: 'net', stem: 'cifar' })
    expect(Object.keys(saved)).toEqual(['epoch', 'arch', 'state_dict', 'best_acc1', 'optimizer', 'scheduler', 'batch', 'global_step', 'meters', 'stem'])
    const bytes = encodeCheckpoint(saved, 'pth')
    const ckpt = asTrainingState(decodeCheckpoint(Buffer.concat(bytes), 'x.pth'), 'x.pth')
    expect(savedSchedulerType(ckpt)).toBe('step')

    const b = parts(2)
    expect(restoreTrainingState(ckpt, b)).toEqual(position)
    expect(read(b)).toEqual(read(a))
    expect(momentum(b)).toEqual(momentum(a))
    expect(b.optimizer.lr).toBe(a.optimizer.lr)
    expect(b.scheduler.stateDict()).toEqual(a.scheduler.stateDict())
  })

  it('a complete epoch saves no meters; a scheduler of another type is refused', async () => {
    const a = parts(1)
    const saved = await encodeTrainingState(a, { epoch: 1, batch: 0, globalStep: 3, bestAcc1: 0, meters: undefined }, { arch: 'net' })
    expect(saved.meters).toBeNull()
    const ckpt = asTrainingState(decodeCheckpoint(Buffer.concat(encodeCheckpoint(saved, 'safetensors')), 'x.safetensors'))
    expect(restoreTrainingState(ckpt, parts(3)).meters).toBeUndefined()
    const cosine = parts(3)
    cosine.scheduler = new CosineAnnealingLR(cosine.optimizer, { tMax: 5 })
    cosine.type = 'cosine'
    expect(() => restoreTrainingState(ckpt, cosine)).toThrow("the checkpoint's scheduler is 'step', this run's 'cosine'")
  })
})
