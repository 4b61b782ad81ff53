/**
 * Parity cases aimed at the kernels src/wasm-kernels/ adds or replaces, beyond the shared @tinylab/test-utils/kernel-cases:
 * every phase layout of Conv2DBackpropInput (strides 1/2/3, kernels 1/2/3/5/7, odd sizes, explicit and 'same'/'valid'
 * padding), the filter gradient's crop path ('valid' leftovers), max-pool ties and all-negative windows, float32
 * one-hot, Sum/Mean over the axes training reduces, and every BatchMatMul / _FusedMatMul routing (transposes, shared right-hand
 * side, distinct batches).
 */
import * as tf from '@tensorflow/tfjs-core'
import type { ParityCase } from '@tinylab/test-utils/kernel-cases'
import { seeded } from '@tinylab/test-utils/kernel-cases'

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]
const explicit = (t: number, b = t, l = t, r = t): Pad => [[0, 0], [t, b], [l, r], [0, 0]]

function grads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed = 77): tf.Tensor[] {
  const y = f(...xs)
  return [y, ...tf.grads((...args: tf.Tensor[]) => f(...args))(xs, seeded(y.shape, seed))]
}

interface Conv { n: number; h: number; w: number; cin: number; cout: number; kh: number; kw: number; stride: number | [number, number]; pad: Pad }
function conv(s: Conv): ParityCase {
  const pad = typeof s.pad === 'string' ? s.pad : `[${s.pad[1].join(',')}|${s.pad[2].join(',')}]`
  return {
    name: `conv2d ${s.kh}x${s.kw} stride ${String(s.stride)} pad ${pad} on ${s.n}x${s.h}x${s.w}x${s.cin} -> ${s.cout}`,
    run: () =>
      grads(
        (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s.stride, s.pad),
        [seeded([s.n, s.h, s.w, s.cin], 101), seeded([s.kh, s.kw, s.cin, s.cout], 102, 0.3)],
      ),
  }
}

export const trainingKernelCases: ParityCase[] = [
  conv({ n: 2, h: 16, w: 16, cin: 8, cout: 16, kh: 3, kw: 3, stride: 2, pad: explicit(1) }),
  conv({ n: 1, h: 11, w: 10, cin: 3, cout: 5, kh: 7, kw: 7, stride: 2, pad: explicit(3) }),
  conv({ n: 2, h: 9, w: 9, cin: 5, cout: 3, kh: 1, kw: 1, stride: 2, pad: explicit(0) }),
  conv({ n: 1, h: 10, w: 9, cin: 3, cout: 4, kh: 3, kw: 3, stride: 2, pad: 'valid' }),
  conv({ n: 1, h: 10, w: 11, cin: 3, cout: 4, kh: 2, kw: 2, stride: 2, pad: 'same' }),
  conv({ n: 2, h: 13, w: 12, cin: 2, cout: 3, kh: 5, kw: 3, stride: [3, 2], pad: 'same' }),
  conv({ n: 1, h: 8, w: 8, cin: 4, cout: 4, kh: 3, kw: 3, stride: 1, pad: explicit(2, 0, 0, 2) }),
  conv({ n: 1, h: 6, w: 7, cin: 3, cout: 2, kh: 5, kw: 5, stride: 1, pad: 'same' }),
  // Maps small enough for the dense-matrix route (_dense-small-conv.ts): every pixel pair meets (ResNet-18's last stage
  // at 64x64), most do (zero-filled gaps), stride 2 onto 1x1, and a 1x1 map.
  conv({ n: 3, h: 2, w: 2, cin: 8, cout: 6, kh: 3, kw: 3, stride: 1, pad: explicit(1) }),
  conv({ n: 2, h: 3, w: 3, cin: 4, cout: 5, kh: 3, kw: 3, stride: 1, pad: 'same' }),
  conv({ n: 2, h: 2, w: 2, cin: 6, cout: 4, kh: 3, kw: 3, stride: 2, pad: explicit(1) }),
  conv({ n: 4, h: 1, w: 1, cin: 5, cout: 7, kh: 3, kw: 3, stride: 1, pad: explicit(1) }),
  // 1x1 kernels take the single-GEMM filter gradient: stride 1 here, stride 2 above.
  conv({ n: 2, h: 5, w: 6, cin: 4, cout: 3, kh: 1, kw: 1, stride: 1, pad: 'valid' }),
  {
    // After a ReLU most 3x3 windows of a sparse map tie at 0: the gradient must go to the first one (cpu, PyTorch).
    name: 'maxPool 3x3 stride 2 pad 1 after relu (ties at 0) and all-negative windows',
    run: () =>
      grads(
        (x) => tf.add(tf.maxPool(tf.relu(tf.sub(x, 0.6)) as tf.Tensor4D, 3, 2, 1), tf.maxPool(tf.sub(x, 3) as tf.Tensor4D, 3, 2, 1)),
        [seeded([2, 11, 10, 3], 103)],
      ),
  },
  { name: 'maxPool 2x2 stride 2 valid, odd size', run: () => grads((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), [seeded([1, 7, 9, 2], 104)]) },
  { name: 'maxPool 3x3 stride 1 same', run: () => grads((x) => tf.maxPool(x as tf.Tensor4D, 3, 1, 'same'), [seeded([1, 6, 5, 2], 105)]) },
  {
    // The batch-norm gradient's broadcast tile (replaced by a broadcasting add) and a non-broadcast tile (shipped).
    name: 'tile: per-channel broadcast to (N, H, W, C) and a 2x3 repeat',
    run: () => [
      ...grads((x) => tf.tile(x, [2, 5, 3, 1]), [seeded([1, 1, 1, 7], 114)]),
      ...grads((x) => tf.tile(x, [2, 3]), [seeded([3, 4], 115)]),
    ],
  },
  {
    // The reductions training runs: batch-norm statistics over (N, H, W), keepDims, a 2-D bias gradient, negative
    // axes; then inner, all and int32 axes. The same x reduced under several splits (a kernel that caches by data id
    // must not reuse one split's result for another).
    name: 'sum / mean over leading axes (+ keepDims, negative axis) and over inner, all and int32 axes',
    run: () => {
      const x = seeded([3, 5, 7, 6], 116)
      const m = seeded([9, 4], 117)
      return [
        tf.sum(x, [0, 1, 2]),
        tf.mean(x, [0, 1, 2], true),
        tf.mean(x, [1, 0]),
        tf.sum(m, 0),
        tf.mean(m, -2, true),
        tf.sum(x, [1, 2]),
        tf.mean(x, -1),
        tf.sum(x),
        tf.cast(tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), 0), 'float32'),
        // The word LM's decoder-bias gradient: rows wider than XNNPACK's pooling takes (it traps from ~20,000 channels).
        tf.sum(seeded([20, 33278], 119), 0),
        ...grads((a) => tf.mean(tf.mul(a, a), [0, 1, 2]), [seeded([2, 3, 4, 5], 118)]),
      ]
    },
  },
  {
    name: 'oneHot float32 / int32 / smoothed on-off values',
    run: () => {
      const ids = tf.tensor1d([4, 0, 2, 4, 9], 'int32')
      return [tf.oneHot(ids, 7, 1, 0, 'float32'), tf.oneHot(ids, 7), tf.oneHot(ids, 7, 0.9, 0.1 / 6, 'float32'), tf.oneHot(ids, 7, 3, -1)]
    },
  },
  ...[false, true].flatMap((ta) =>
    [false, true].map((tb) => ({
      // Gradient for a only: tfjs-core 4.22's BatchMatMul gradient does not sum b's over broadcast batch dims.
      name: `matMul 3-D a with shared b (batch 1), transposeA=${ta} transposeB=${tb}`,
      run: () => {
        const b = seeded(tb ? [1, 3, 6] : [1, 6, 3], 107)
        return grads((a) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb), [seeded(ta ? [4, 6, 5] : [4, 5, 6], 106)])
      },
    })),
  ),
  {
    name: 'fused matMul + bias + relu, transposeB (dense layer)',
    run: () =>
      grads(
        (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias, activation: 'relu' }),
        [seeded([6, 9], 108), seeded([5, 9], 109), seeded([5], 110)],
      ),
  },
  {
    name: 'matMul 64x200 · 200x33 both transposed (decoder-sized gradient shapes)',
    run: () => grads((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true), [seeded([200, 64], 111), seeded([33, 200], 112)]),
  },
  {
    name: 'embedding gradient, 2-D ids (seqLen x batch), 500-word table',
    run: () => {
      const ids = tf.tensor2d([[3, 499, 3], [0, 17, 499], [3, 3, 250]], [3, 3], 'int32')
      return grads((table) => tf.gather(table, ids), [seeded([500, 8], 113)])
    },
  },
]
