import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, expect, it } from 'vitest'
import '../test/_tfjs'
import { accuracy, accuracyAsync, accuracyFromLogits, topkHits } from './accuracy'
import { DivideLrOnPlateau } from './lr-scheduler'
import { SeededRng } from '@tinylab/seeded-rng'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

it('accuracy and accuracyAsync return top-k percentages as imagenet main.py', async () => {
  const out = tf.tensor2d([
    [0.1, 0.5, 0.2, 0.15], // ranks: 1,2,3,0
    [0.9, 0.0, 0.05, 0.01], // ranks: 0,2,3,1
    [0.2, 0.3, 0.4, 0.1], // ranks: 2,1,0,3
    [0.3, 0.1, 0.2, 0.4], // ranks: 3,0,2,1
  ])
  const target = tf.tensor1d([1, 2, 3, 1], 'int32')
  // row0 top1 hit; row1 target 2 at rank 2; row2 target 3 at rank 4; row3 target 1 at rank 4
  expect(accuracy(out, target, [1, 2, 3, 4])).toEqual([25, 50, 50, 100])
  expect(await accuracyAsync(out, target, [1, 2, 3, 4])).toEqual([25, 50, 50, 100])
  expect(accuracyFromLogits(out.dataSync(), target.dataSync(), 4, [1, 2, 3, 4])).toEqual([25, 50, 50, 100])
  tf.dispose([out, target])
})

it('accuracyFromLogits and topkHits rank as tf.topk does, ties included (scores drawn from 4 values, so most rows tie)', () => {
  const rng = new SeededRng(3)
  const [batch, classes] = [64, 10]
  const values = Float32Array.from({ length: batch * classes }, () => Math.floor(rng.next() * 4))
  const labels = Int32Array.from({ length: batch }, () => Math.floor(rng.next() * classes))
  const out = tf.tensor2d(values, [batch, classes])
  const target = tf.tensor1d(labels, 'int32')
  const topk = [1, 2, 3, 5, 10]
  expect(accuracyFromLogits(values, labels, classes, topk)).toEqual(accuracy(out, target, topk))
  expect(topkHits(values, labels, classes, topk)).toEqual(accuracy(out, target, topk).map((p) => Math.round((p * batch) / 100)))
  expect(() => accuracyFromLogits(values, labels, classes + 1)).toThrow(/640 logits are not 64 rows of 11/)
  tf.dispose([out, target])
})

it('DivideLrOnPlateau divides lr by 4 when the loss does not improve (main.py)', () => {
  const holder = { lr: 20 }
  const p = new DivideLrOnPlateau(holder)
  expect([p.step(5.5), p.step(5.2), p.step(5.3), p.step(5.2), p.step(5.1)]).toEqual([true, true, false, false, true])
  expect(holder.lr).toBe(20 / 16)
})

it('SeededRng is a function of its seed and restores from its state', () => {
  const a = new SeededRng(1111)
  const b = new SeededRng(1111)
  const xs = Array.from({ length: 5 }, () => a.next())
  expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs)
  expect(new Set(xs).size).toBe(5)
  const s = a.getState()
  const next = a.next()
  b.setState(s)
  expect(b.next()).toBe(next)
  expect(new SeededRng(1112).next()).not.toBe(xs[0])
})
