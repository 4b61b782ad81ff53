/**
 * Time of the convolution kernels TinyLab replaces (Conv2DBackpropFilter) at each convolution shape of a ResNet-18
 * training step (64×64 images) on WebGPU, tfjs-backend-webgpu's own kernel against TinyLab's (startWebGpu's
 * `tinylabKernels`), measured in the same process one after the other.
 *
 *   vite-node --config vite.config.ts scripts/bench/webgpu-conv-kernels.ts -- [--batch 64] [--kernels Conv2D,...]
 *
 * Each kernel runs once to compile, then repeatedly until 1 s has passed (at least twice), each call read back. Two
 * figures per call: wall ms, and process CPU ms (user + system): on lavapipe the GPU is this process's own threads, so
 * CPU time stays meaningful when other jobs load the machine, wall time does not (the load average is printed too).
 * One JSON line per (kernel set, shape, kernel) on stdout, and the per-step totals (each shape times its count in
 * ResNet-18) last.
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

interface Timing { wallMs: number; cpuMs: number }

async function time(run: () => tf.Tensor): Promise<Timing> {
  const warm = run()
  await warm.data()
  warm.dispose()
  let calls = 0
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  while (calls < 2 || performance.now() - start < 1000) {
    const out = run()
    await out.data()
    out.dispose()
    calls++
  }
  const cpu = process.cpuUsage(cpuStart)
  return { wallMs: (performance.now() - start) / calls, cpuMs: (cpu.user + cpu.system) / 1000 / calls }
}

async function measure(kernels: 'tfjs' | 'tinylab', batch: number, names: string[]): Promise<Map<string, Timing>> {
  await startWebGpu({ tinylabKernels: kernels === 'tinylab' })
  tf.env().set('WEBGPU_CPU_FORWARD', false)
  const totals = new Map<string, Timing>()
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
    for (const kernel of names) {
      const run = runs[kernel]
      if (run === undefined) throw new Error(`webgpu-conv-kernels: unknown kernel ${kernel} (use ${Object.keys(runs).join(', ')})`)
      const t = await time(run)
      const sum = totals.get(kernel) ?? { wallMs: 0, cpuMs: 0 }
      totals.set(kernel, { wallMs: sum.wallMs + t.wallMs * s.count, cpuMs: sum.cpuMs + t.cpuMs * s.count })
      console.log(JSON.stringify({ kernels, batch, shape: s.name, kernel, wallMs: round(t.wallMs), cpuMs: round(t.cpuMs), load: loadavg()[0] }))
    }
    tf.dispose([x, w, y, dy])
  }
  stopWebGpu()
  return totals
}

const round = (v: number): number => Number(v.toFixed(1))
function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i >= 0 ? (process.argv[i + 1] ?? '') : fallback
}
const batch = Number(flag('--batch', '64'))
if (!(Number.isInteger(batch) && batch > 0)) throw new Error(`webgpu-conv-kernels: --batch must be a positive integer, got ${flag('--batch', '')}`)
const names = flag('--kernels', 'Conv2DBackpropFilter').split(',')
// tfjs's kernels first: TinyLab's, once registered, stay for the rest of the process.
const tfjs = await measure('tfjs', batch, names)
const tinylab = await measure('tinylab', batch, names)
const perStep = Object.fromEntries(
  [...tfjs].map(([k, t]) => {
    const mine = tinylab.get(k) ?? { wallMs: NaN, cpuMs: NaN }
    return [k, { tfjsWallMs: round(t.wallMs), tinylabWallMs: round(mine.wallMs), tfjsCpuMs: round(t.cpuMs), tinylabCpuMs: round(mine.cpuMs) }]
  }),
)
console.log(JSON.stringify({ batch, perStep, loadavg: loadavg().map((l) => Number(l.toFixed(2))) }))
