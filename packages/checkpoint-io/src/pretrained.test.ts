import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { beforeAll, describe, expect, it } from 'vitest'
import { HostTensor } from './host-tensor'
import { loadPretrained } from './pretrained'
import type { NamedTensor } from './tfjs-state-dict'

/** A body (body.weight [3]) and a 2-class head (fc.weight torch [2, 3], fc.bias [2]), all zeros. */
function model(): NamedTensor[] {
  return [
    { name: 'body.weight', value: tf.variable(tf.zeros([3])), layout: 'same', kind: 'parameter' },
    { name: 'fc.weight', value: tf.variable(tf.zeros([3, 2])), layout: 'linear-io', kind: 'parameter' },
    { name: 'fc.bias', value: tf.variable(tf.zeros([2])), layout: 'same', kind: 'parameter' },
  ]
}
const ones = (shape: number[]) => new HostTensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1))
const sum = (t: NamedTensor | undefined): number => tf.sum(t!.value).dataSync()[0] as number
const file = 'pretrained.pth'

describe('loadPretrained', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('loads a fitting head as is, from a bare state dict or a checkpoint holding one', () => {
    const m = model()
    const sd = { 'body.weight': ones([3]), 'fc.weight': ones([2, 3]), 'fc.bias': ones([2]) }
    expect(loadPretrained(m, sd, { head: 'fc.', numClasses: 2, file })).toEqual({ headReplaced: undefined, savedClasses: 2 })
    expect(m.map(sum)).toEqual([3, 6, 2])
    const n = model()
    expect(loadPretrained(n, { epoch: 3, state_dict: sd }, { head: 'fc.', numClasses: 2, file }).headReplaced).toBeUndefined()
    expect(n.map(sum)).toEqual([3, 6, 2])
  })

  it('leaves a head of another size, or one the caller replaces, as initialised and loads the rest', () => {
    const m = model()
    const r = loadPretrained(m, { 'body.weight': ones([3]), 'fc.weight': ones([1000, 3]), 'fc.bias': ones([1000]) }, { head: 'fc.', numClasses: 2, file })
    expect(r).toEqual({ headReplaced: 'size', savedClasses: 1000 })
    expect(m.map(sum)).toEqual([3, 0, 0])
    const n = model()
    const q = loadPretrained(n, { 'body.weight': ones([3]), 'fc.weight': ones([2, 3]), 'fc.bias': ones([2]) }, { head: 'fc.', numClasses: 2, replaceHead: true, file })
    expect(q.headReplaced).toBe('requested')
    expect(n.map(sum)).toEqual([3, 0, 0])
  })

  it('stays strict outside the head, and names the file when it holds no tensors', () => {
    expect(() => loadPretrained(model(), { 'fc.weight': ones([2, 3]), 'fc.bias': ones([2]) }, { head: 'fc.', numClasses: 2, file })).toThrow(/Missing key\(s\).*body\.weight/)
    expect(() => loadPretrained(model(), { 'body.weight': ones([4]) }, { head: 'fc.', numClasses: 2, file, modelName: 'Net' })).toThrow(/Error\(s\) in loading state_dict for Net:[^]*size mismatch for body\.weight/)
    expect(() => loadPretrained(model(), { epoch: 1 }, { head: 'fc.', numClasses: 2, file })).toThrow('pretrained.pth: the checkpoint holds no tensors')
    expect(() => loadPretrained(model(), { state_dict: 3 }, { head: 'fc.', numClasses: 2, file })).toThrow('pretrained.pth: no state_dict in the checkpoint')
  })
})
