/**
 * The kernels ResNet and the word language models train with, as small cases that return their forward result and the
 * gradient of every input (for a fixed, non-uniform upstream gradient). Each case builds its inputs from a seeded
 * generator, so running it on two backends compares the same numbers. Backend-neutral: any parity test can import it.
 */
import * as tf from '@tensorflow/tfjs-core'

export interface ParityCase {
  name: string
  /** Returns [forward result, ...gradients]; called inside tf.tidy. */
  run: () => tf.Tensor[]
}

/** Seeded values in [-scale, scale) (a 31-bit LCG: the same numbers on every backend and run). */
export function seeded(shape: number[], seed: number, scale = 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1)
  const values = new Float32Array(size)
  let s = (seed * 2654435761) % 2147483648
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) % 2147483648
    values[i] = (s / 2147483648 - 0.5) * 2 * scale
  }
  return tf.tensor(values, shape, 'float32')
}

/** y = f(...xs) and dL/dxs for L = sum(y * dy) with a seeded dy. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed = 99): tf.Tensor[] {
  const y = f(...xs)
  const dy = seeded(y.shape, seed)
  const dxs = tf.grads((...args: tf.Tensor[]) => f(...args))(xs, dy)
  return [y, ...dxs]
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]
const explicit = (p: number): Pad => [[0, 0], [p, p], [p, p], [0, 0]]

interface ConvSpec { n: number; h: number; w: number; cin: number; cout: number; k: number; stride: number; pad: Pad }
function convCase(name: string, s: ConvSpec): ParityCase {
  return {
    name: `conv2d ${name}`,
    run: () =>
      withGrads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s.stride, s.pad),
        [seeded([s.n, s.h, s.w, s.cin], 1), seeded([s.k, s.k, s.cin, s.cout], 2, 0.3)],
      ),
  }
}

/** nn.BatchNorm2d in training mode: batch statistics over N, H, W (as resnet-models does it). */
function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2])
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5)
}

/** nn.LayerNorm over the last axis, composed (transformer-lm). */
function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true)
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta)
}

/** One LSTM cell step (torch.nn.LSTM gate order i, f, g, o). */
function lstmCell(x: tf.Tensor, h: tf.Tensor, c: tf.Tensor, wx: tf.Tensor, wh: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const gates = tf.add(tf.add(tf.matMul(x as tf.Tensor2D, wx as tf.Tensor2D), tf.matMul(h as tf.Tensor2D, wh as tf.Tensor2D)), b)
  const [i, f, g, o] = tf.split(gates, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
  const c2 = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)))
  return tf.concat([tf.mul(tf.sigmoid(o), tf.tanh(c2)), c2], 1)
}

const matMulCases: ParityCase[] = [false, true].flatMap((ta) =>
  [false, true].flatMap((tb) => [
    {
      name: `matMul transposeA=${ta} transposeB=${tb} (5x7 · 7x3)`,
      run: () =>
        withGrads(
          (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb),
          [seeded(ta ? [7, 5] : [5, 7], 3), seeded(tb ? [3, 7] : [7, 3], 4)],
        ),
    },
    {
      name: `batchMatMul transposeA=${ta} transposeB=${tb} (3 × 5x9 · 9x6)`,
      run: () =>
        withGrads(
          (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb),
          [seeded(ta ? [3, 9, 5] : [3, 5, 9], 5), seeded(tb ? [3, 6, 9] : [3, 9, 6], 6)],
        ),
    },
  ]),
)

export const parityCases: ParityCase[] = [
  // ResNet stem: 7x7 stride 2, padding=3 as PyTorch's conv1; odd input size.
  convCase('7x7 stride 2 pad 3 (resnet conv1), 13x13, batch 2', { n: 2, h: 13, w: 13, cin: 3, cout: 4, k: 7, stride: 2, pad: explicit(3) }),
  convCase('3x3 stride 1 pad 1, 9x9, batch 1', { n: 1, h: 9, w: 9, cin: 4, cout: 5, k: 3, stride: 1, pad: explicit(1) }),
  convCase('3x3 stride 2 pad 1, 9x9 (odd -> 5x5)', { n: 2, h: 9, w: 9, cin: 3, cout: 4, k: 3, stride: 2, pad: explicit(1) }),
  convCase('1x1 stride 2 valid (downsample), 7x7', { n: 2, h: 7, w: 7, cin: 4, cout: 6, k: 1, stride: 2, pad: 'valid' }),
  convCase('3x3 stride 2 same, 8x8', { n: 2, h: 8, w: 8, cin: 3, cout: 4, k: 3, stride: 2, pad: 'same' }),
  convCase('3x3 stride 1 valid, 7x6', { n: 1, h: 7, w: 6, cin: 2, cout: 3, k: 3, stride: 1, pad: 'valid' }),
  convCase('3x3 stride 1 same, 64 channels', { n: 1, h: 5, w: 5, cin: 64, cout: 64, k: 3, stride: 1, pad: 'same' }),
  {
    name: 'batchNorm, training statistics (BatchNorm2d.train())',
    run: () => withGrads(batchNormTrain, [seeded([2, 5, 5, 6], 7, 2), seeded([6], 8), seeded([6], 9)]),
  },
  {
    name: 'batchNorm, running statistics (BatchNorm2d.eval())',
    run: () =>
      withGrads(
        (x, m, v, g, b) => tf.batchNorm(x, m, tf.abs(v), b, g, 1e-5),
        [seeded([2, 3, 3, 5], 10), seeded([5], 11), seeded([5], 12), seeded([5], 13), seeded([5], 14)],
      ),
  },
  { name: 'relu', run: () => withGrads((x) => tf.relu(x), [seeded([3, 7, 5], 15)]) },
  {
    // PyTorch's MaxPool2d(3, stride=2, padding=1); all-negative windows catch a max search that starts at 0.
    name: 'maxPool 3x3 stride 2 pad 1, negative windows',
    run: () => withGrads((x) => tf.maxPool(tf.sub(x, 2) as tf.Tensor4D, 3, 2, 1), [seeded([2, 9, 9, 3], 16)]),
  },
  { name: 'maxPool 2x2 stride 2 same, odd size', run: () => withGrads((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'same'), [seeded([1, 7, 7, 4], 17)]) },
  { name: 'avgPool global (AdaptiveAvgPool2d(1))', run: () => withGrads((x) => tf.avgPool(x as tf.Tensor4D, [5, 5], 1, 'valid'), [seeded([2, 5, 5, 8], 18)]) },
  { name: 'avgPool 3x3 stride 2 same', run: () => withGrads((x) => tf.avgPool(x as tf.Tensor4D, 3, 2, 'same'), [seeded([1, 7, 7, 3], 19)]) },
  { name: 'mean over H, W', run: () => withGrads((x) => tf.mean(x, [1, 2]), [seeded([2, 5, 5, 8], 20)]) },
  ...matMulCases,
  {
    // No batch broadcasting: tfjs-core 4.22's BatchMatMul gradient does not reduce over broadcast batch dims (on every backend).
    name: 'batchMatMul 4-D (batch, heads, T, T), transposeB',
    run: () => withGrads((a, b) => tf.matMul(a, b, false, true), [seeded([2, 3, 5, 4], 21), seeded([2, 3, 6, 4], 22)]),
  },
  {
    // nn.Embedding: the gradient is UnsortedSegmentSum over repeated ids.
    name: 'gather (embedding) with repeated ids + grad',
    run: () => {
      const ids = tf.tensor1d([3, 1, 3, 0, 12, 3, 1, 7, 7, 3], 'int32')
      return withGrads((table) => tf.gather(table, ids), [seeded([13, 6], 23)])
    },
  },
  {
    name: 'unsortedSegmentSum',
    run: () => [tf.unsortedSegmentSum(seeded([9, 4], 24), tf.tensor1d([2, 0, 2, 5, 1, 2, 0, 4, 5], 'int32'), 7)],
  },
  { name: 'softmax (last axis, 37)', run: () => withGrads((x) => tf.softmax(tf.mul(x, 4)), [seeded([4, 37], 25)]) },
  { name: 'logSoftmax (last axis, 37)', run: () => withGrads((x) => tf.logSoftmax(tf.mul(x, 4)), [seeded([4, 37], 26)]) },
  {
    name: 'softmaxCrossEntropy with float oneHot labels',
    run: () => {
      const labels = tf.oneHot(tf.tensor1d([0, 4, 2, 4, 1], 'int32'), 6)
      return [labels, ...withGrads((logits) => tf.losses.softmaxCrossEntropy(labels, logits), [seeded([5, 6], 27, 3)])]
    },
  },
  {
    name: 'NLL of logSoftmax (word LM loss) with oneHot',
    run: () => {
      const targets = tf.oneHot(tf.tensor1d([3, 0, 10, 3, 7, 2], 'int32'), 11)
      return withGrads((logits) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), targets), 1))), [seeded([6, 11], 28, 3)])
    },
  },
  { name: 'layerNorm composition', run: () => withGrads(layerNorm, [seeded([2, 5, 12], 29, 3), seeded([12], 30), seeded([12], 31)]) },
  { name: 'tanh', run: () => withGrads((x) => tf.tanh(x), [seeded([5, 9], 32, 4)]) },
  { name: 'sigmoid', run: () => withGrads((x) => tf.sigmoid(x), [seeded([5, 9], 33, 6)]) },
  {
    name: 'LSTM cell (matMul, split, sigmoid, tanh, concat)',
    run: () =>
      withGrads(lstmCell, [
        seeded([3, 5], 34), seeded([3, 4], 35), seeded([3, 4], 36),
        seeded([5, 16], 37, 0.5), seeded([4, 16], 38, 0.5), seeded([16], 39, 0.1),
      ]),
  },
  {
    // GELU (erf form, nn.TransformerEncoderLayer activation='gelu'), exp and log paths.
    name: 'gelu (erf), exp, log',
    run: () => withGrads((x) => tf.add(tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))), tf.log(tf.add(tf.exp(x), 1))), [seeded([4, 9], 40, 3)]),
  },
  {
    name: 'causal mask (where) + transpose + reshape',
    run: () => {
      const mask = tf.linalg.bandPart(tf.ones([5, 5]), -1, 0)
      return withGrads((x) => tf.transpose(tf.reshape(tf.where(tf.cast(mask, 'bool'), x, tf.fill([2, 5, 5], -3)), [2, 25]), [1, 0]), [seeded([2, 5, 5], 41)])
    },
  },
  {
    // clip_grad_norm_ and SGD with momentum / weight decay (what the optimizers use).
    name: 'global norm, clipByValue, sgd momentum update',
    run: () =>
      withGrads(
        (g, p, buf) => tf.add(tf.mul(tf.add(tf.mul(buf, 0.9), tf.add(tf.div(g, tf.maximum(tf.norm(g), 1e-6)), tf.mul(p, 1e-4))), -0.1), tf.clipByValue(p, -0.5, 0.5)),
        [seeded([6, 7], 42), seeded([6, 7], 43), seeded([6, 7], 44)],
      ),
  },
  {
    // clip_grad_norm_ sums one squared norm per parameter: more inputs than a shader stage has storage buffers.
    name: 'addN of 23 tensors',
    run: () => withGrads((...xs) => tf.addN(xs.map((x) => tf.square(x))), Array.from({ length: 23 }, (_, i) => seeded([3, 4], 50 + i))),
  },
  {
    name: 'argMax, max, sum, int32 sum (accuracy)',
    run: () => {
      const x = seeded([6, 11], 45)
      const labels = tf.tensor1d([1, 2, 3, 4, 5, 6], 'int32')
      return [tf.argMax(x, 1), tf.max(x, 1), tf.sum(x, 0), tf.sum(tf.cast(tf.equal(tf.argMax(x, 1), labels), 'int32'))]
    },
  },
]
