/**
 * Wall time of each convolution kernel of a ResNet-18 training step (64×64 images) on WebGPU, tfjs-backend-webgpu's
 * own kernels against TinyLab's (startWebGpu's `tinylabKernels`), measured in the same process one after the other.
 *
 *   vite-node --config vite.config.ts scripts/bench/webgpu-conv-kernels.ts -- [--batch 64]
 *
 * Each kernel runs once to compile, then repeatedly until 1 s has passed (at least twice); the time is the mean per
 * call including the readback of the last result. On lavapipe this is CPU time, so other load on the machine shows:
 * the load average is printed with the results. One JSON line per (kernel set, shape, kernel) on stdout, and a
 * per-step total (each shape times its count in ResNet-18) last.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import { loadavg } from 'node:os'
import { startWebGpu, stopWebGpu } from '@tinylab/webgpu-backend'

interface ConvShape { name: string; count: number; h: number; cin: number; cout: number; k: number; stride: number; pad: number }

/** ResNet-18's convolutions at 64×64 input; count = how many of that shape one step runs. */
const SHAPES: ConvShape[] = [
  { name: 'conv1 7x7/2', count: 1, h: 64, cin: 3, cout: 64, k: 7, stride: 2, pad: 3 },
  { name: 'layer1 3x3', count: 4, h: 16, cin: 64, cout: 64, k: 3, stride: 1, pad: 1 },
  { name: 'layer2.0.conv1 3x3/2', count: 1, h: 16, cin: 64, cout: 128, k: 3, stride: 2, pad: 1 },
  { name: 'layer2 3x3', count: 3, h: 8, cin: 128, cout: 128, k: 3, stride: 1, pad: 1 },
  { name: 'layer2 downsample 1x1/2', count: 1, h: 16, cin: 64, cout: 128, k: 1, stride: 2, pad: 0 },
  { name: 'layer3.0.conv1 3x3/2', count: 1, h: 8, cin: 128, cout: 256, k: 3, stride: 2, pad: 1 },
  { name: 'layer3 3x3', count: 3, h: 4, cin: 256, cout: 256, k: 3, stride: 1, pad: 1 },
  { name: 'layer3 downsample 1x1/2', count: 1, h: 8, cin: 128, cout: 256, k: 1, stride: 2, pad: 0 },
  { name: 'layer4.0.conv1 3x3/2', count: 1, h: 4, cin: 256, cout: 512, k: 3, stride: 2, pad: 1 },
  { name: 'layer4 3x3', count: 3, h: 2, cin: 512, cout: 512, k: 3, stride: 1, pad: 1 },
  { name: 'layer4 downsample 1x1/2', count: 1, h: 4, cin: 256, cout: 512, k: 1, stride: 2, pad: 0 },
]

type Pad = [[number, number], [number, number], [number, number], [number, number]]

async function timeMs(run: () => tf.Tensor): Promise<number> {
  const warm = run()
  await warm.data()
  warm.dispose()
  let calls = 0
  const start = performance.now()
  while (calls < 2 || performance.now() - start < 1000) {
    const out = run()
    calls++
    if (calls >= 2 && performance.now() - start >= 1000) await out.data()
    else if (calls === 1) await out.data()
    out.dispose()
  }
  return (performance.now() - start) / calls
}

async function measure(kernels: 'tfjs' | 'tinylab', batch: number): Promise<Map<string, number>> {
  await startWebGpu({ tinylabKernels: kernels === 'tinylab' })
  tf.env().set('WEBGPU_CPU_FORWARD', false)
  const totals = new Map<string, number>()
  for (const s of SHAPES) {
    const pad: Pad = [[0, 0], [s.pad, s.pad], [s.pad, s.pad], [0, 0]]
    const x = tf.randomUniform([batch, s.h, s.h, s.cin]) as tf.Tensor4D
    const w = tf.randomUniform([s.k, s.k, s.cin, s.cout], -0.1, 0.1) as tf.Tensor4D
    const y = tf.conv2d(x, w, s.stride, pad)
    const dy = tf.randomUniform(y.shape) as tf.Tensor4D
    const attrs = { strides: [s.stride, s.stride], pad, dataFormat: 'NHWC' }
    const runs: Record<string, () => tf.Tensor> = {
      Conv2D: () => tf.conv2d(x, w, s.stride, pad),
      Conv2DBackpropFilter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
      Conv2DBackpropInput: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor,
    }
    for (const [kernel, run] of Object.entries(runs)) {
      const ms = await timeMs(run)
      totals.set(kernel, (totals.get(kernel) ?? 0) + ms * s.count)
      console.log(JSON.stringify({ kernels, batch, shape: s.name, kernel, ms: Number(ms.toFixed(2)), load: loadavg()[0] }))
    }
    tf.dispose([x, w, y, dy])
  }
  stopWebGpu()
  return totals
}

const batchFlag = process.argv.indexOf('--batch')
const batch = batchFlag >= 0 ? Number(process.argv[batchFlag + 1]) : 64
if (!(Number.isInteger(batch) && batch > 0)) throw new Error(`webgpu-conv-kernels: --batch must be a positive integer, got ${process.argv[batchFlag + 1]}`)
// tfjs's kernels first: TinyLab's, once registered, stay for the rest of the process.
const tfjs = await measure('tfjs', batch)
const tinylab = await measure('tinylab', batch)
const perStep = Object.fromEntries([...tfjs].map(([k, ms]) => [k, { tfjsMs: Number(ms.toFixed(1)), tinylabMs: Number((tinylab.get(k) ?? NaN).toFixed(1)) }]))
console.log(JSON.stringify({ batch, perStep, loadavg: loadavg().map((l) => Number(l.toFixed(2))) }))
