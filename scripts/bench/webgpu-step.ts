/**
 * `pnpm bench webgpu-step --model resnet18|transformer [--batch 64] [--steps 9] [--host-only] [--dropout 0.2]`
 *
 * One training step on WebGPU, eager tfjs against @tinylab/webgpu-backend's compileStep, in the same process: ResNet-18
 * (200 classes, 64×64, SGD momentum 0.9, wd 1e-4) or word_language_model's Transformer (emsize 200, nhid 200, 2 layers,
 * 2 heads, bptt 35, vocab 33278, clip 0.25, SGD lr 20, dropout 0.2 as main.py; see below). `--host-only` gives every dispatch zero
 * workgroups, so only host work is timed (the GPU, or lavapipe, does nothing). host_ms is the median over the timed
 * steps of the time until the step is submitted with its loss readback requested (the readback itself overlaps the next
 * step); *_with_readback_ms waits for the loss too; *_cpu_ms is this process's CPU time over the same span (all threads,
 * lavapipe's included) and *_main_thread_ms the main thread's alone: on a shared machine these show the host work that
 * wall time hides under other jobs' load. Prints, last, one JSON line.
 *
 * Dropout (`--dropout P`, default main.py's 0.2): tf.dropout draws its noise on the CPU every step, which the compiled
 * step redraws on the GPU (hostRandom 'gpu-uniform', as `pnpm wordlm train` does).
 */
import * as tf from '@tensorflow/tfjs-core'
import { readFileSync } from 'node:fs'
import { initBackend } from '@tinylab/multi-device'
import type { TrainingStepFixture } from '@tinylab/test-utils/training-steps'
import { resnetTrainingStep, transformerTrainingStep } from '@tinylab/test-utils/training-steps'
import { compileStep, eagerDispatchCount, setHostOnlyDispatch } from '@tinylab/webgpu-backend'
import { flag, hasFlag, mib } from './_child'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

/** This thread's time on a CPU in ms (Linux: nanoseconds in /proc/thread-self/schedstat); NaN elsewhere. */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6
  } catch {
    return NaN
  }
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits

interface Timed {
  hostMs: number
  /** CPU time of this process (all its threads, lavapipe's queue threads included) over the same span. */
  hostCpuMs: number
  /** CPU time of the main thread alone (/proc/thread-self/schedstat): the host work, little inflated by other load. */
  hostThreadMs: number
  withReadbackMs: number
  loss: number
}

/** Times `steps` calls of `submit` (which returns the loss read); host time stops when `submit` returns. */
async function timeSteps(f: TrainingStepFixture, steps: number, offset: number, submit: (inputs: tf.Tensor[]) => Promise<number>): Promise<Timed> {
  const host: number[] = []
  const cpu: number[] = []
  const thread: number[] = []
  const total: number[] = []
  let loss = NaN
  for (let i = 0; i < steps; i++) {
    const inputs = f.inputs((offset + i) % 4)
    const m0 = mainThreadCpuMs()
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const pending = submit(inputs)
    const t1 = performance.now()
    const c1 = process.cpuUsage(c0)
    thread.push(mainThreadCpuMs() - m0)
    cpu.push((c1.user + c1.system) / 1000)
    loss = await pending
    total.push(performance.now() - t0)
    host.push(t1 - t0)
    tf.dispose(inputs)
  }
  return { hostMs: median(host), hostCpuMs: median(cpu), hostThreadMs: median(thread), withReadbackMs: median(total), loss }
}

export async function run(args: string[]): Promise<void> {
  const model = flag(args, 'model') ?? 'resnet18'
  const batch = Number(flag(args, 'batch') ?? (model === 'resnet18' ? '64' : '20'))
  const steps = Number(flag(args, 'steps') ?? '9')
  const hostOnly = hasFlag(args, 'host-only')
  const dropout = Number(flag(args, 'dropout') ?? '0.2')
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`webgpu-step: --dropout must be in [0, 1), got '${flag(args, 'dropout')}'`)
  if (model !== 'resnet18' && model !== 'transformer') throw new Error(`webgpu-step: --model must be resnet18 or transformer, got '${model}'`)
  if (!(Number.isInteger(batch) && batch > 0)) throw new Error(`webgpu-step: --batch must be a positive integer, got '${flag(args, 'batch')}'`)

  const info = await initBackend({ device: 'webgpu' })
  console.log(`webgpu-step: ${model} batch ${batch} on ${info.adapter}${hostOnly ? ', host only (zero workgroups)' : ''}`)
  eagerDispatchCount() // installs the dispatch counter before the first step
  setHostOnlyDispatch(hostOnly)
  const f =
    model === 'resnet18'
      ? resnetTrainingStep({ batch, size: 64, classes: 200 })
      : transformerTrainingStep({ batch, bptt: 35, ntoken: 33_278, emsize: 200, nhid: 200, nlayers: 2, nhead: 2, dropout })

  // Eager: tfjs as the examples run it today.
  const eagerStep = async (inputs: tf.Tensor[]): Promise<number> => {
    const out = tf.tidy(() => f.step(inputs))
    const read = out[0]?.data() as Promise<Float32Array>
    try {
      return (await read)[0] as number
    } finally {
      tf.dispose(out)
    }
  }
  await timeSteps(f, 2, 0, eagerStep)
  const before = eagerDispatchCount()
  const eager = await timeSteps(f, steps, 2, eagerStep)
  const eagerDispatches = (eagerDispatchCount() - before) / steps

  // Compiled: call 0 eager, calls 1-2 traced, then replays.
  const compiled = compileStep(f.step, { name: model, hostRandom: dropout > 0 ? 'gpu-uniform' : 'refuse' })
  const compiledStep = async (inputs: tf.Tensor[]): Promise<number> => ((await compiled.run(inputs))[0] as Float32Array)[0] as number
  const t0 = performance.now()
  await timeSteps(f, 3, 0, compiledStep)
  const traceMs = performance.now() - t0
  await timeSteps(f, 2, 3, compiledStep)
  const tensorsBefore = tf.memory().numTensors
  const timed = await timeSteps(f, steps, 5, compiledStep)
  const stats = compiled.stats()
  if (stats.mode !== 'compiled') throw new Error(`webgpu-step: the step did not compile (mode ${stats.mode})`)
  const memory = stats.memory
  const gpu = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number }
  const top = Object.entries(stats.programs).sort((a, b) => b[1] - a[1])
  console.log(`programs per compiled step: ${top.map(([p, n]) => `${p} ${n}`).join(', ')}`)
  console.log(`plan GPU memory: ${mib(memory?.totalBytes ?? 0)} MiB (arena ${mib(memory?.arenaBytes ?? 0)} MiB for ${mib(memory?.unplannedBytes ?? 0)} MiB of temporaries); tfjs buffers ${mib(gpu.numBytesAllocatedInGPU ?? 0)} MiB`)
  console.log(`trace (3 eager calls) ${Math.round(traceMs)} ms; live tensors before/after the timed replays: ${tensorsBefore}/${tf.memory().numTensors}`)
  compiled.dispose()
  f.dispose()
  console.log(
    JSON.stringify({
      bench: 'webgpu-step',
      model,
      batch,
      host_only: hostOnly,
      dispatches: stats.dispatches,
      host_ms: round(timed.hostMs),
      host_cpu_ms: round(timed.hostCpuMs),
      host_main_thread_ms: round(timed.hostThreadMs),
      host_with_readback_ms: round(timed.withReadbackMs),
      eager_dispatches: eagerDispatches,
      eager_host_ms: round(eager.hostMs),
      eager_host_cpu_ms: round(eager.hostCpuMs),
      eager_host_main_thread_ms: round(eager.hostThreadMs),
      eager_host_with_readback_ms: round(eager.withReadbackMs),
      submits_per_step: 1,
      plan_gpu_mib: mib(memory?.totalBytes ?? 0),
      arena_mib: mib(memory?.arenaBytes ?? 0),
      unplanned_temporaries_mib: mib(memory?.unplannedBytes ?? 0),
      dropout: model === 'transformer' ? dropout : undefined,
      steps,
      loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      adapter: info.adapter,
    }),
  )
}
