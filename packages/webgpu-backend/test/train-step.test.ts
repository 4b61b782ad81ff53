/**
 * Whole training steps on WebGPU against the cpu backend: a small ResNet (7x7 stem, BatchNorm in training mode with
 * running-stat updates, max pool, two BasicBlocks one with a strided 1x1 downsample, global average pool, fc) and a
 * small LSTM language model (embedding, LSTM, decoder, clip_grad_norm_), each trained with SGD + momentum.
 * Checks: loss and every gradient of step 1 equal cpu's, the parameters after three steps equal cpu's, and the number
 * of live tensors does not grow between step 2 and step 6.
 */
import '@tensorflow/tfjs-backend-cpu'
// Training needs tfjs-core's gradients, which its Node entry does not register (@tinylab/multi-device does it for users).
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listWebGpuAdapters, startWebGpu, stopWebGpu } from '../src/index'
import { seeded } from '@tinylab/test-utils/kernel-cases'

interface Model {
  params: Map<string, tf.Variable>
  buffers: Map<string, tf.Variable>
  /** Scalar loss; may assign buffers (BatchNorm running stats) as PyTorch's training-mode forward does. */
  loss: () => tf.Scalar
}

function param(m: Model, name: string): tf.Variable {
  const v = m.params.get(name) ?? m.buffers.get(name)
  if (v === undefined) throw new Error(`no variable ${name}`)
  return v
}

let nextSeed = 1
function addParam(m: Model, name: string, shape: number[], scale: number, offset = 0): void {
  m.params.set(name, tf.variable(tf.add(seeded(shape, nextSeed++, scale), offset), true, `${name}#${nextSeed}`))
}

const PAD1: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]]
const PAD3: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [3, 3], [3, 3], [0, 0]]

function addConvBn(m: Model, prefix: string, k: number, cin: number, cout: number): void {
  addParam(m, `${prefix}.conv.weight`, [k, k, cin, cout], Math.sqrt(2 / (k * k * cin)))
  addParam(m, `${prefix}.bn.weight`, [cout], 0.1, 1)
  addParam(m, `${prefix}.bn.bias`, [cout], 0.1)
  m.buffers.set(`${prefix}.bn.running_mean`, tf.variable(tf.zeros([cout]), false))
  m.buffers.set(`${prefix}.bn.running_var`, tf.variable(tf.ones([cout]), false))
}

/** conv -> BatchNorm2d (train: batch stats, running stats updated with momentum 0.1 and the unbiased variance). */
function convBn(m: Model, prefix: string, x: tf.Tensor4D, stride: number, pad: 'valid' | typeof PAD1): tf.Tensor4D {
  const y = tf.conv2d(x, param(m, `${prefix}.conv.weight`) as tf.Tensor4D, stride, pad)
  const { mean, variance } = tf.moments(y, [0, 1, 2])
  const n = y.size / y.shape[3]
  const runMean = param(m, `${prefix}.bn.running_mean`)
  const runVar = param(m, `${prefix}.bn.running_var`)
  runMean.assign(tf.add(tf.mul(runMean, 0.9), tf.mul(mean, 0.1)))
  runVar.assign(tf.add(tf.mul(runVar, 0.9), tf.mul(variance, 0.1 * (n / (n - 1)))))
  return tf.batchNorm4d(y, mean as tf.Tensor1D, variance as tf.Tensor1D, param(m, `${prefix}.bn.bias`) as tf.Tensor1D, param(m, `${prefix}.bn.weight`) as tf.Tensor1D, 1e-5)
}

function tinyResNet(): Model {
  nextSeed = 1
  const m: Model = { params: new Map(), buffers: new Map(), loss: () => tf.scalar(0) }
  addConvBn(m, 'stem', 7, 3, 8)
  addConvBn(m, 'layer1.0.a', 3, 8, 8)
  addConvBn(m, 'layer1.0.b', 3, 8, 8)
  addConvBn(m, 'layer2.0.a', 3, 8, 16)
  addConvBn(m, 'layer2.0.b', 3, 16, 16)
  addConvBn(m, 'layer2.0.downsample', 1, 8, 16)
  addParam(m, 'fc.weight', [16, 5], 0.25)
  addParam(m, 'fc.bias', [5], 0.1)
  const images = seeded([2, 17, 17, 3], 1000, 2) as tf.Tensor4D
  const labels = tf.oneHot(tf.tensor1d([3, 0], 'int32'), 5)
  m.loss = () => {
    let h = tf.relu(convBn(m, 'stem', images, 2, PAD3)) // (2, 9, 9, 8)
    h = tf.maxPool(h, 3, 2, 1) // (2, 5, 5, 8)
    let b = tf.relu(convBn(m, 'layer1.0.a', h, 1, PAD1))
    h = tf.relu(tf.add<tf.Tensor4D>(convBn(m, 'layer1.0.b', b, 1, PAD1), h))
    b = tf.relu(convBn(m, 'layer2.0.a', h, 2, PAD1)) // (2, 3, 3, 16)
    h = tf.relu(tf.add<tf.Tensor4D>(convBn(m, 'layer2.0.b', b, 1, PAD1), convBn(m, 'layer2.0.downsample', h, 2, 'valid')))
    const pooled = tf.mean(h, [1, 2]) // (2, 16)
    const logits = tf.add(tf.matMul(pooled, param(m, 'fc.weight')), param(m, 'fc.bias'))
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar
  }
  return m
}

function tinyLstmLm(): Model {
  nextSeed = 500
  const [vocab, emb, hid, seqLen, batch] = [13, 6, 5, 4, 3]
  const m: Model = { params: new Map(), buffers: new Map(), loss: () => tf.scalar(0) }
  addParam(m, 'encoder.weight', [vocab, emb], 0.1)
  addParam(m, 'rnn.weight_ih_l0', [emb, 4 * hid], 0.4)
  addParam(m, 'rnn.weight_hh_l0', [hid, 4 * hid], 0.4)
  addParam(m, 'rnn.bias', [4 * hid], 0.1)
  addParam(m, 'decoder.weight', [hid, vocab], 0.4)
  addParam(m, 'decoder.bias', [vocab], 0.1)
  // Repeated ids: the embedding gradient must sum rows (UnsortedSegmentSum).
  const ids = tf.tensor2d([1, 4, 4, 2, 7, 1, 9, 4, 12, 0, 1, 3], [seqLen, batch], 'int32')
  const targets = tf.oneHot(tf.tensor1d([4, 4, 2, 7, 1, 9, 4, 12, 0, 1, 3, 5], 'int32'), vocab)
  m.loss = () => {
    const x = tf.reshape(tf.gather(param(m, 'encoder.weight'), tf.reshape(ids, [-1])), [seqLen, batch, emb])
    let h: tf.Tensor = tf.zeros([batch, hid])
    let c: tf.Tensor = tf.zeros([batch, hid])
    const outputs: tf.Tensor[] = []
    for (let t = 0; t < seqLen; t++) {
      const xt = tf.reshape(tf.slice(x, [t, 0, 0], [1, batch, emb]), [batch, emb])
      const gates = tf.add(tf.add(tf.matMul(xt, param(m, 'rnn.weight_ih_l0')), tf.matMul(h, param(m, 'rnn.weight_hh_l0'))), param(m, 'rnn.bias'))
      const [i, f, g, o] = tf.split(gates, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)))
      h = tf.mul(tf.sigmoid(o), tf.tanh(c))
      outputs.push(h)
    }
    const logits = tf.add(tf.matMul(tf.concat(outputs, 0), param(m, 'decoder.weight')), param(m, 'decoder.bias')) // (seqLen*batch, vocab)
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), targets), 1))) as tf.Scalar
  }
  return m
}

/**
 * One SGD step (momentum 0.9, weight decay 1e-4, lr 0.1, torch.optim.SGD's formula) with clip_grad_norm_(0.5) applied
 * first; returns the loss and the raw gradients (before clipping) by name.
 */
function sgdStep(m: Model, momentum: Map<string, tf.Variable>): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  return tf.tidy(() => {
    const names = [...m.params.keys()]
    const { value, grads } = tf.variableGrads(m.loss, names.map((n) => param(m, n)))
    const gradList = names.map((n) => grads[param(m, n).name] ?? tf.zerosLike(param(m, n)))
    const totalNorm = tf.sqrt(tf.addN(gradList.map((g) => tf.sum(tf.square(g)))))
    const clip = tf.minimum(tf.div(0.5, tf.add(totalNorm, 1e-6)), 1)
    names.forEach((n, i) => {
      const p = param(m, n)
      const d = tf.add(tf.mul(gradList[i] as tf.Tensor, clip), tf.mul(p, 1e-4))
      const buf = momentum.get(n)
      if (buf === undefined) momentum.set(n, tf.variable(d, false))
      else buf.assign(tf.add(tf.mul(buf, 0.9), d))
      p.assign(tf.sub(p, tf.mul(momentum.get(n) as tf.Variable, 0.1)))
    })
    return { loss: value, grads: Object.fromEntries(names.map((n, i) => [n, gradList[i] as tf.Tensor])) }
  })
}

interface Trace {
  losses: number[]
  grads1: Map<string, Float32Array>
  final: Map<string, Float32Array>
  tensorsAfterStep: number[]
}

async function train(make: () => Model, steps: number): Promise<Trace> {
  const m = make()
  const momentum = new Map<string, tf.Variable>()
  const trace: Trace = { losses: [], grads1: new Map(), final: new Map(), tensorsAfterStep: [] }
  for (let s = 0; s < steps; s++) {
    const { loss, grads } = sgdStep(m, momentum)
    trace.losses.push((await loss.data())[0] ?? NaN)
    if (s === 0) for (const [n, g] of Object.entries(grads)) trace.grads1.set(n, Float32Array.from(await g.data()))
    tf.dispose([loss, ...Object.values(grads)])
    trace.tensorsAfterStep.push(tf.memory().numTensors)
  }
  for (const [n, v] of [...m.params, ...m.buffers]) trace.final.set(n, Float32Array.from(await v.data()))
  tf.dispose([...m.params.values(), ...m.buffers.values(), ...momentum.values()])
  return trace
}

async function skipReason(): Promise<string | undefined> {
  const reason = await listWebGpuAdapters().then(
    (a) => (a.length === 0 ? 'no WebGPU adapter' : undefined),
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  )
  if (reason !== undefined && process.env.CI === 'true') throw new Error(`CI must run the WebGPU training step: ${reason}`)
  return reason
}

const reason = await skipReason()
const models = { resnet: tinyResNet, lstm: tinyLstmLm }

describe.skipIf(reason !== undefined)(`training steps on webgpu equal cpu${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const cpu = new Map<string, Trace>()
  beforeAll(async () => {
    await tf.setBackend('cpu')
    for (const [name, make] of Object.entries(models)) cpu.set(name, await train(make, 3))
    await startWebGpu()
    tf.env().set('WEBGPU_CPU_FORWARD', false)
  })
  afterAll(() => stopWebGpu())

  it.each(Object.keys(models))('%s: loss, gradients and parameters after 3 SGD steps (rel <= 1e-3)', async (name) => {
    const want = cpu.get(name)
    const make = models[name as keyof typeof models]
    if (want === undefined) throw new Error(`no cpu trace for ${name}`)
    const got = await train(make, 3)
    expect(tf.getBackend()).toBe('webgpu')
    got.losses.forEach((l, i) => expect(Math.abs(l - (want.losses[i] ?? NaN)) / Math.abs(want.losses[i] ?? NaN), `loss ${i}`).toBeLessThanOrEqual(1e-3))
    expect([...got.grads1.keys()]).toEqual([...want.grads1.keys()])
    for (const [n, g] of got.grads1) expect(relError(g, want.grads1.get(n) ?? new Float32Array()), `grad ${n}`).toBeLessThanOrEqual(1e-3)
    for (const [n, v] of got.final) expect(relError(v, want.final.get(n) ?? new Float32Array()), `param ${n}`).toBeLessThanOrEqual(1e-3)
    // Losses must move: a step that changes nothing would pass the comparisons above.
    expect(got.losses[2]).not.toBe(got.losses[0])
  })

  it.each(Object.keys(models))('%s: live tensors flat from step 2 to step 6', async (name) => {
    const got = await train(models[name as keyof typeof models], 6)
    expect(got.tensorsAfterStep[5]).toBe(got.tensorsAfterStep[1])
  })
})
