import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { beforeAll, describe, expect, it } from 'vitest'
import { HostTensor } from './host-tensor'
import { type NamedTensor, loadStateDict, toStateDict } from './tfjs-state-dict'

function model(): NamedTensor[] {
  return [
    { name: 'conv.weight', value: tf.variable(tf.zeros([3, 3, 2, 4])), layout: 'conv2d-hwio', kind: 'parameter' },
    { name: 'fc.weight', value: tf.variable(tf.zeros([4, 5])), layout: 'linear-io', kind: 'parameter' },
    { name: 'bn.num_batches_tracked', value: tf.variable(tf.scalar(0, 'int32'), false), layout: 'same', kind: 'buffer' },
  ]
}

const f32 = (shape: number[]) => new HostTensor('float32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i))

describe('loadStateDict / toStateDict', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('transposes OIHW -> HWIO and [out,in] -> [in,out], int64 -> int32, strips module. and round-trips exactly', async () => {
    const m = model()
    const sd = { 'module.conv.weight': f32([4, 2, 3, 3]), 'module.fc.weight': f32([5, 4]), 'module.bn.num_batches_tracked': new HostTensor('int64', [], BigInt64Array.from([42n])) }
    const before = tf.memory().numTensors
    expect(loadStateDict(m, sd)).toEqual({ missingKeys: [], unexpectedKeys: [] })
    expect(tf.memory().numTensors).toBe(before)
    // torch: w[o, i, h, w] = ((o*2 + i)*3 + h)*3 + w; tfjs HWIO holds the same element at [h, w, i, o].
    const conv = (await m[0]?.value.array()) as number[][][][]
    expect(conv[1]?.[2]?.[1]?.[3]).toBe(((3 * 2 + 1) * 3 + 1) * 3 + 2)
    const fc = (await m[1]?.value.array()) as number[][]
    expect(fc[3]?.[2]).toBe(2 * 4 + 3) // torch fc.weight[2, 3]
    expect(m[2]?.value.dtype).toBe('int32')
    expect(await m[2]?.value.array()).toBe(42)
    const back = await toStateDict(m)
    expect(Object.keys(back)).toEqual(['conv.weight', 'fc.weight', 'bn.num_batches_tracked'])
    expect([...(back['conv.weight']?.data ?? [])]).toEqual([...sd['module.conv.weight'].data])
    expect(back['conv.weight']?.shape).toEqual([4, 2, 3, 3])
    expect([...(back['fc.weight']?.data ?? [])]).toEqual([...sd['module.fc.weight'].data])
    expect(back['bn.num_batches_tracked']?.dtype).toBe('int64')
    expect([...(back['bn.num_batches_tracked']?.data ?? [])]).toEqual([42n])
  })

  it('reports every missing, unexpected, size and dtype problem by name in one error and assigns nothing', async () => {
    const m = model()
    const sd = { 'conv.weight': f32([4, 2, 5, 5]), 'fc.weight': new HostTensor('int64', [5, 4], new BigInt64Array(20)), 'head.bias': f32([3]) }
    let message = ''
    try {
      loadStateDict(m, sd, { modelName: 'Tiny' })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toBe(
      [
        'Error(s) in loading state_dict for Tiny:',
        '\tMissing key(s) in state_dict: "bn.num_batches_tracked".',
        '\tUnexpected key(s) in state_dict: "head.bias".',
        '\tsize mismatch for conv.weight: copying a param with shape torch.Size([4, 2, 5, 5]) from checkpoint, the shape in current model is torch.Size([4, 2, 3, 3]).',
        '\tdtype mismatch for fc.weight: checkpoint has int64, the model has float32.',
      ].join('\n'),
    )
    expect(await tf.sum(m[0]?.value as tf.Variable).array()).toBe(0)
  })

  it('strict: false allows missing and unexpected keys but not size mismatches, like torch', () => {
    const m = model()
    expect(loadStateDict(m, { 'fc.weight': f32([5, 4]), extra: f32([1]) }, { strict: false })).toEqual({
      missingKeys: ['conv.weight', 'bn.num_batches_tracked'],
      unexpectedKeys: ['extra'],
    })
    expect(() => loadStateDict(m, { 'fc.weight': f32([4, 5]) }, { strict: false })).toThrow(/size mismatch for fc\.weight/)
  })
})

describe('optimizer state <-> torch layout', () => {
  it('momentum buffers follow their parameter layout both ways', async () => {
    const { optimizerStateFromTorch, optimizerStateToTorch } = await import('./tfjs-optimizer-state')
    const params = model().slice(0, 2)
    const conv = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 1)
    const fc = tf.randomNormal([4, 5], 0, 1, 'float32', 2)
    const groups = [{ lr: 0.1, momentum: 0.9, params: [0, 1] }]
    const torchState = (await optimizerStateToTorch({ state: { 0: { momentum_buffer: conv }, 1: { momentum_buffer: fc } }, param_groups: groups }, params)) as {
      state: Record<string, { momentum_buffer: HostTensor }>
    }
    expect(torchState.state['0']?.momentum_buffer.shape).toEqual([4, 2, 3, 3])
    expect(torchState.state['1']?.momentum_buffer.shape).toEqual([5, 4])
    const convArr = (await conv.array()) as number[][][][]
    // torch buf[o, i, h, w] == tfjs buf[h, w, i, o]
    expect(torchState.state['0']?.momentum_buffer.data[((3 * 2 + 1) * 3 + 2) * 3 + 0]).toBe(Math.fround(convArr[2]?.[0]?.[1]?.[3] ?? Number.NaN))
    const back = optimizerStateFromTorch(torchState as unknown as Parameters<typeof optimizerStateFromTorch>[0], params) as { state: Record<number, { momentum_buffer: tf.Tensor }>; param_groups: unknown }
    expect(await back.state[0]?.momentum_buffer.array()).toEqual(convArr)
    expect(await back.state[1]?.momentum_buffer.array()).toEqual(await fc.array())
    expect(back.param_groups).toEqual(groups)
    expect(() => optimizerStateFromTorch({ state: { 7: { momentum_buffer: null } }, param_groups: [] }, params)).toThrow(/index 7, but the model has 2 parameters/)
  })
})
