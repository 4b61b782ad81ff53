/**
 * TinyLab's WebGPU convolution kernels against tfjs's cpu backend: tf.conv2d's forward result and both gradients,
 * for the shapes ResNet uses (7×7 stride 2 pad 3, 3×3 stride 1 and 2, strided 1×1) and odd ones: batch 1, channels
 * not a multiple of 4 or of the 64-wide tile, odd and non-square spatial sizes, 'same' padding, and sizes where the
 * filter gradient splits its N·OH·OW reduction.
 */
import * as tf from '@tensorflow/tfjs-core'
import { seeded } from '@tinylab/test-utils/kernel-cases'
import { expect, it } from 'vitest'
import { describeKernelParity, programsRun } from './_parity'
import type { KernelParityCase } from './_parity'

type Pad = 'same' | 'valid' | number
interface ConvSpec { n: number; h: number; w: number; cin: number; cout: number; k: number; stride: number; pad: Pad }

function convCase(s: ConvSpec, seed: number): KernelParityCase {
  const pad = typeof s.pad === 'number' ? ([[0, 0], [s.pad, s.pad], [s.pad, s.pad], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]) : s.pad
  const run = (): tf.Tensor[] => {
    const x = seeded([s.n, s.h, s.w, s.cin], seed) as tf.Tensor4D
    const w = seeded([s.k, s.k, s.cin, s.cout], seed + 1, 0.3) as tf.Tensor4D
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s.stride, pad)
    const y = f(x, w)
    const [dx, dw] = tf.grads(f)([x, w], seeded(y.shape, seed + 2))
    return [y, dx as tf.Tensor, dw as tf.Tensor]
  }
  return { name: `conv2d x[${s.n},${s.h},${s.w},${s.cin}] ${s.k}x${s.k}→${s.cout} stride ${s.stride} pad ${s.pad}`, reference: run, webgpu: run }
}

const stem = convCase({ n: 4, h: 32, w: 32, cin: 3, cout: 8, k: 7, stride: 2, pad: 3 }, 5)
const deep = convCase({ n: 2, h: 4, w: 4, cin: 130, cout: 70, k: 1, stride: 1, pad: 'valid' }, 40)

describeKernelParity('convolution kernels', [
  convCase({ n: 2, h: 17, w: 17, cin: 3, cout: 8, k: 7, stride: 2, pad: 3 }, 1),
  stem,
  convCase({ n: 1, h: 9, w: 9, cin: 5, cout: 7, k: 3, stride: 1, pad: 1 }, 10),
  convCase({ n: 3, h: 8, w: 8, cin: 16, cout: 32, k: 3, stride: 2, pad: 1 }, 20),
  convCase({ n: 4, h: 12, w: 12, cin: 64, cout: 64, k: 3, stride: 1, pad: 1 }, 25),
  convCase({ n: 2, h: 9, w: 9, cin: 8, cout: 16, k: 1, stride: 2, pad: 'valid' }, 30),
  deep,
  convCase({ n: 2, h: 7, w: 5, cin: 3, cout: 5, k: 3, stride: 1, pad: 'same' }, 50),
  convCase({ n: 1, h: 6, w: 11, cin: 6, cout: 3, k: 3, stride: 2, pad: 'same' }, 60),
], () => {
  it('the filter gradient is the implicit GEMM, split over N·OH·OW when that is long and the filter small', async () => {
    const stemPrograms = await programsRun(stem.webgpu)
    expect(stemPrograms).toContain('ConvFilterGradProgram')
    expect(stemPrograms).toContain('SumSplitsProgram')
    expect(stemPrograms).not.toContain('Conv2DDerFilterProgram')
    const deepPrograms = await programsRun(deep.webgpu)
    expect(deepPrograms).toContain('ConvFilterGradProgram')
    expect(deepPrograms).not.toContain('SumSplitsProgram')
  })
})
