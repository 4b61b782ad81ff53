/**
 * A compact torchvision-style ResNet-18 for backend tests (the real model lives in @tinylab/resnet-models; this package
 * must not depend on it). Same layer graph and ops: conv 7x7/2 pad 3, BatchNorm in training mode (tf.moments +
 * tf.batchNorm4d), ReLU, max-pool 3x3/2 pad 1, BasicBlocks with 1x1/2 downsample, global mean, dense, softmax
 * cross-entropy on float32 one-hot labels; train-loop's SGD with momentum and weight decay.
 */
import * as tf from '@tensorflow/tfjs-core'
import { SGD } from '@tinylab/train-loop'

export interface ResNetFixture {
  params: Map<string, tf.Variable>
  loss(x: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar
}

/** Seeded uniform values in [-scale, scale): identical on every backend. */
function seededValues(size: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(size)
  let s = (seed * 2654435761) % 2147483648
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) % 2147483648
    out[i] = (s / 2147483648 - 0.5) * 2 * scale
  }
  return out
}

export function seededTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed, scale), shape, 'float32')
}

export function resnet18(numClasses: number, width = 64): ResNetFixture {
  const params = new Map<string, tf.Variable>()
  let seed = 1
  const conv = (name: string, k: number, cin: number, cout: number): void => {
    params.set(name, tf.variable(seededTensor([k, k, cin, cout], seed++, Math.sqrt(6 / (k * k * cout))), true, name))
  }
  const bn = (name: string, c: number): void => {
    params.set(`${name}.weight`, tf.variable(tf.add(tf.ones([c]), seededTensor([c], seed++, 0.1)), true, `${name}.weight`))
    params.set(`${name}.bias`, tf.variable(seededTensor([c], seed++, 0.1), true, `${name}.bias`))
  }
  conv('conv1.weight', 7, 3, width)
  bn('bn1', width)
  const blocks: { name: string; cin: number; cout: number; stride: number }[] = []
  let cin = width
  for (const [layer, mult] of [[1, 1], [2, 2], [3, 4], [4, 8]] as const) {
    const cout = width * mult
    for (let b = 0; b < 2; b++) {
      const stride = layer > 1 && b === 0 ? 2 : 1
      const name = `layer${layer}.${b}`
      conv(`${name}.conv1.weight`, 3, cin, cout)
      bn(`${name}.bn1`, cout)
      conv(`${name}.conv2.weight`, 3, cout, cout)
      bn(`${name}.bn2`, cout)
      if (stride !== 1 || cin !== cout) {
        conv(`${name}.downsample.0.weight`, 1, cin, cout)
        bn(`${name}.downsample.1`, cout)
      }
      blocks.push({ name, cin, cout, stride })
      cin = cout
    }
  }
  params.set('fc.weight', tf.variable(seededTensor([cin, numClasses], seed++, 1 / Math.sqrt(cin)), true, 'fc.weight'))
  params.set('fc.bias', tf.variable(seededTensor([numClasses], seed++, 1 / Math.sqrt(cin)), true, 'fc.bias'))

  const p = (name: string): tf.Variable => {
    const v = params.get(name)
    if (v === undefined) throw new Error(`no parameter ${name}`)
    return v
  }
  const pad = (n: number): [[number, number], [number, number], [number, number], [number, number]] => [[0, 0], [n, n], [n, n], [0, 0]]
  const convBn = (x: tf.Tensor4D, convName: string, bnName: string, stride: number, padding: number): tf.Tensor4D => {
    const y = tf.conv2d(x, p(convName) as tf.Tensor4D, stride, pad(padding))
    const { mean, variance } = tf.moments(y, [0, 1, 2])
    return tf.batchNorm4d(y, mean as tf.Tensor1D, variance as tf.Tensor1D, p(`${bnName}.bias`) as tf.Tensor1D, p(`${bnName}.weight`) as tf.Tensor1D, 1e-5)
  }
  const forward = (x: tf.Tensor4D): tf.Tensor2D => {
    let h = tf.relu(convBn(x, 'conv1.weight', 'bn1', 2, 3))
    h = tf.maxPool(h, 3, 2, pad(1))
    for (const { name, cin: i, cout: o, stride } of blocks) {
      const out = convBn(tf.relu(convBn(h, `${name}.conv1.weight`, `${name}.bn1`, stride, 1)), `${name}.conv2.weight`, `${name}.bn2`, 1, 1)
      const shortcut = stride !== 1 || i !== o ? convBn(h, `${name}.downsample.0.weight`, `${name}.downsample.1`, stride, 0) : h
      h = tf.relu(tf.add(out, shortcut)) as tf.Tensor4D
    }
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D // (N, C)
    return tf.add(tf.matMul(pooled, p('fc.weight') as tf.Tensor2D), p('fc.bias'))
  }
  const loss = (x: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar =>
    tf.losses.softmaxCrossEntropy(tf.oneHot(labels, numClasses, 1, 0, 'float32'), forward(x)) as tf.Scalar
  return { params, loss }
}

/** torch.optim.SGD(lr, momentum, weight_decay) over the fixture's parameters: train-loop's `SGD`, the one SGD rule. */
export function fixtureSgd(net: ResNetFixture, lr = 0.1, momentum = 0.9, weightDecay = 1e-4): SGD {
  return new SGD([...net.params].map(([name, value]) => ({ name, value })), { lr, momentum, weightDecay })
}

/** One training step of `net` on (x, labels) with `optimizer`; returns the loss. */
export function sgdStep(net: ResNetFixture, optimizer: SGD, x: tf.Tensor4D, labels: tf.Tensor1D): number {
  const { value, grads } = tf.variableGrads(() => net.loss(x, labels), [...net.params.values()])
  const byName = Object.fromEntries([...net.params].map(([name, param]) => [name, grads[param.name]]))
  optimizer.step(byName)
  const loss = value.dataSync()[0] as number
  tf.dispose([value, ...Object.values(grads)])
  return loss
}
