/**
 * `pnpm bench gpu [--out DIR] [--resnet-batches 64,128,256] [--lm-batch 20] [--seconds 45] [--python python3] [--skip-torch] [--skip-eager]`
 *
 * The one-GPU rows of the device table, for a machine with a real GPU: our WebGPU backend (Dawn on the vendor's Vulkan
 * driver), eager and compiled (@tinylab/webgpu-backend's compileTrainingStep, as the examples train), and PyTorch on
 * the same card (CUDA) and the same CPU, in one run. ResNet-18 training steps (64×64×3, 200 classes, SGD momentum 0.9,
 * wd 1e-4, as imagenet/main.py) and word_language_model's Transformer step (bptt 35, main.py defaults: dropout 0.2,
 * clip 0.25). For every compiled row one more step is profiled with GPU timestamps: the time of each kernel by program,
 * and the TFLOP/s of the convolutions. Writes DIR/gpu-resnet18.{md,csv}, DIR/gpu-transformer.{md,csv},
 * DIR/gpu-kernels.md and DIR/gpu.json.
 *
 * It imports only what it needs (no worker threads, no Vite), so `node scripts/bench/gpu-bundle.mjs` can bundle it
 * into one file that runs where no package registry is reachable (see scripts/bench/gpu-device.sh).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { describeMachine, formatDeviceTable, stepRates, unmeasuredRow } from '@tinylab/device-bench'
import type { DeviceBenchRow } from '@tinylab/device-bench'
import { resnet18 } from '@tinylab/resnet-models'
import { SGD, crossEntropy, trainStepAsync } from '@tinylab/train-loop'
import type { TrainableParam } from '@tinylab/train-loop'
import { TransformerModel, nllLoss } from '@tinylab/transformer-lm'
import { clipGradNorm } from '@tinylab/train-loop'
import { compileTrainingStep } from '@tinylab/webgpu-backend'
import type { CompiledTrainingStep, DispatchTime } from '@tinylab/webgpu-backend'
import { flag, hasFlag } from './_child'
import { kernelTable } from './_kernel-profile'

const LM = { ntoken: 33_278, emsize: 200, nhid: 200, nlayers: 2, nhead: 2, dropout: 0.2, bptt: 35 } as const
const IMAGES_PER_EPOCH = 100_000
const LM_BATCHES_PER_EPOCH = 2_983

interface Timing {
  ms: number
  steps: number
  cpuMs: number
  startupSeconds: number
  loss: number
}

interface TorchRow {
  model: 'resnet18' | 'transformer'
  device: 'cuda' | 'cpu'
  batch: number
  ms: number
  steps: number
  threads: number
  name: string
  version: string
}

/** Warm-up (shader compilation, first allocations), then timed steps until `steps` or `seconds` run out. */
async function timeSteps(step: () => Promise<number>, steps: number, seconds: number, started: number): Promise<Timing> {
  await step()
  await step()
  const startupSeconds = (performance.now() - started) / 1000
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let n = 0
  let loss = Number.NaN
  while (n < steps && (n === 0 || performance.now() - t0 < seconds * 1000)) {
    loss = await step()
    n++
  }
  const ms = (performance.now() - t0) / n
  const cpu = process.cpuUsage(cpu0)
  return { ms, steps: n, cpuMs: (cpu.user + cpu.system) / 1000 / n, startupSeconds, loss }
}

/** A model, its optimizer and a fixed batch, set up for timing; `dispose` frees all of it. */
interface TimedTraining {
  step(): Promise<number>
  /** Compiled rows: one more step with each kernel timed on the GPU. */
  profile?: () => Promise<DispatchTime[]>
  dispose(): void
}

async function timeTraining(setup: () => TimedTraining, steps: number, seconds: number): Promise<Timing & { kernels?: DispatchTime[] }> {
  const started = performance.now()
  const training = setup()
  try {
    // A compiled step runs eagerly and traces on its first 3 calls: two more warm-ups, so timing starts at replay 2.
    if (training.profile !== undefined) for (let i = 0; i < 2; i++) await training.step()
    const timing = await timeSteps(() => training.step(), steps, seconds, started)
    return training.profile === undefined ? timing : { ...timing, kernels: await training.profile() }
  } finally {
    training.dispose()
  }
}

/** The step `trainStepAsync` runs, compiled: traced on the first calls, then replayed; `profile` times its kernels. */
function compiledTraining(
  params: TrainableParam[],
  inputs: tf.Tensor[],
  loss: (inputs: readonly tf.Tensor[]) => tf.Scalar,
  update: (grads: Record<string, tf.Tensor>) => void,
  hostRandom: 'refuse' | 'gpu-uniform',
): Pick<TimedTraining, 'step' | 'profile'> & { compiled: CompiledTrainingStep } {
  const compiled = compileTrainingStep({ params, loss: (x) => ({ loss: loss(x) }), update, hostRandom })
  return {
    compiled,
    step: async () => (await compiled.run(inputs)).loss,
    profile: async () => (await compiled.profile(inputs)).dispatches,
  }
}

function resnetTraining(batch: number, compile: boolean): TimedTraining {
  const model = resnet18({ numClasses: 200, seed: 1 })
  const params: TrainableParam[] = model.parameters()
  const sgd = new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 })
  const x = tf.randomNormal([batch, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 37) % 200), 'int32')
  const loss = ([images, labels]: readonly tf.Tensor[]): tf.Scalar => crossEntropy(model.forward(images as tf.Tensor4D, { training: true }), labels as tf.Tensor)
  const compiled = compile ? compiledTraining(params, [x, y], loss, (grads) => sgd.step(grads), 'refuse') : undefined
  return {
    step: compiled?.step ?? (async () => (await trainStepAsync({ params, optimizer: sgd, loss: () => loss([x, y]) })).loss),
    ...(compiled && { profile: compiled.profile }),
    dispose: () => {
      compiled?.compiled.dispose()
      tf.dispose([x, y])
      sgd.dispose()
      model.dispose()
    },
  }
}

function transformerTraining(batch: number, compile: boolean): TimedTraining {
  const model = new TransformerModel({ ntoken: LM.ntoken, ninp: LM.emsize, nhead: LM.nhead, nhid: LM.nhid, nlayers: LM.nlayers, dropout: LM.dropout, seed: 1111 })
  const params = model.parameters()
  const sgd = new SGD(params, { lr: 20 })
  const tokens = Int32Array.from({ length: (LM.bptt + 1) * batch }, (_, i) => (i * 7919) % LM.ntoken)
  const x = tf.tensor2d(tokens.slice(0, LM.bptt * batch), [LM.bptt, batch], 'int32')
  const y = tf.tensor1d(tokens.slice(batch), 'int32')
  const loss = ([data, targets]: readonly tf.Tensor[]): tf.Scalar => nllLoss(model.forward(data as tf.Tensor2D, { training: true }), targets as tf.Tensor)
  // Dropout's noise, drawn on the CPU by tf.dropout, is redrawn on the GPU at every replay (as `pnpm wordlm train`).
  const compiled = compile ? compiledTraining(params, [x, y], loss, (grads) => sgd.step(clipGradNorm(grads, 0.25).grads), 'gpu-uniform') : undefined
  return {
    step: compiled?.step ?? (async () => (await trainStepAsync({ params, optimizer: sgd, clipNorm: 0.25, loss: () => loss([x, y]) })).loss),
    ...(compiled && { profile: compiled.profile }),
    dispose: () => {
      compiled?.compiled.dispose()
      tf.dispose([x, y])
      sgd.dispose()
      model.dispose()
    },
  }
}

function oursRow(label: string, batch: number, items: number, stepsPerEpoch: number, t: Timing | Error, adapter: string): DeviceBenchRow {
  const base = unmeasuredRow({ label, device: 'webgpu', replicas: 1, threadsPerReplica: undefined, measuredBatch: batch, status: 'failed', backend: adapter, note: '' })
  if (t instanceof Error) return { ...base, note: `failed: ${t.message.split('\n')[0]}` }
  return {
    ...base,
    status: 'measured',
    timedSteps: t.steps,
    ...stepRates(t.ms, items, stepsPerEpoch),
    cpuMsPerStep: t.cpuMs,
    startupSeconds: t.startupSeconds,
    note: `loss ${t.loss.toFixed(3)} after the timed steps; adapter ${adapter}`,
  }
}

function torchTableRow(r: TorchRow, items: number, stepsPerEpoch: number): DeviceBenchRow {
  return {
    ...unmeasuredRow({
      label: r.device === 'cuda' ? `PyTorch CUDA (${r.name})` : `PyTorch CPU, ${r.threads} threads`,
      device: r.device,
      replicas: 1,
      threadsPerReplica: r.device === 'cpu' ? r.threads : undefined,
      measuredBatch: r.batch,
      status: 'measured',
      backend: `torch ${r.version}`,
      note: `reference, same model and batch (torch ${r.version})`,
    }),
    timedSteps: r.steps,
    ...stepRates(r.ms, items, stepsPerEpoch),
  }
}

function runTorch(python: string, script: string, args: string[]): TorchRow[] {
  const out = execFileSync(python, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 })
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TorchRow)
}

function gpuNames(): string {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 }).trim()
  } catch {
    return 'no NVIDIA GPU (nvidia-smi not found)'
  }
}

export async function run(args: string[]): Promise<void> {
  const outDir = flag(args, 'out')
  const resnetBatches = (flag(args, 'resnet-batches') ?? '64,128,256').split(',').map(Number)
  const modes = hasFlag(args, 'skip-eager') ? (['compiled'] as const) : (['eager', 'compiled'] as const)
  const kernelSections: string[] = []
  const kernels: { model: string; batch: number; dispatches: DispatchTime[] }[] = []
  const lmBatch = Number(flag(args, 'lm-batch') ?? '20')
  const seconds = Number(flag(args, 'seconds') ?? '45')
  const steps = Number(flag(args, 'steps') ?? '20')
  const python = flag(args, 'python') ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
  const torchScript = flag(args, 'torch-script') ?? fileURLToPath(new URL('./gpu_torch.py', import.meta.url))
  const log = (line: string): void => console.error(`[gpu] ${line}`)

  let torch: TorchRow[] = []
  if (!hasFlag(args, 'skip-torch')) {
    try {
      torch = runTorch(python, torchScript, ['--resnet-batches', resnetBatches.join(','), '--lm-batch', String(lmBatch), '--steps', String(steps), '--threads', String(os.availableParallelism())])
      for (const r of torch) log(`torch ${r.device} ${r.model} batch ${r.batch}: ${r.ms.toFixed(1)} ms/step`)
    } catch (error) {
      log(`PyTorch not measured: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`)
    }
  }

  const info = await initBackend({ device: 'webgpu' })
  const adapter = info.adapter ?? 'unknown adapter'
  log(`webgpu adapter: ${adapter}`)
  const measure = async (model: 'resnet18' | 'transformer', batch: number, items: number, stepsPerEpoch: number): Promise<DeviceBenchRow[]> => {
    const rows: DeviceBenchRow[] = []
    for (const mode of modes) {
      const setup = () => (model === 'resnet18' ? resnetTraining(batch, mode === 'compiled') : transformerTraining(batch, mode === 'compiled'))
      const t = await timeTraining(setup, steps, seconds).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
      log(`webgpu ${mode} ${model} batch ${batch}: ${t instanceof Error ? t.message : `${t.ms.toFixed(1)} ms/step (${t.steps} steps, startup ${t.startupSeconds.toFixed(1)} s)`}`)
      rows.push(oursRow(`TinyLab webgpu ${mode}, batch ${batch}`, batch, items, stepsPerEpoch, t, adapter))
      if (!(t instanceof Error) && t.kernels !== undefined) {
        kernels.push({ model, batch, dispatches: t.kernels })
        kernelSections.push(kernelTable(`${model}, batch ${batch}, compiled (one profiled step; ${t.ms.toFixed(2)} ms/step unprofiled)`, t.kernels))
      }
    }
    return rows
  }
  const resnetRows: DeviceBenchRow[] = []
  for (const batch of resnetBatches) {
    resnetRows.push(...(await measure('resnet18', batch, batch, IMAGES_PER_EPOCH / batch)))
    for (const r of torch.filter((r) => r.model === 'resnet18' && r.batch === batch)) resnetRows.push(torchTableRow(r, batch, IMAGES_PER_EPOCH / batch))
  }
  const lmRows = [
    ...(await measure('transformer', lmBatch, lmBatch * LM.bptt, LM_BATCHES_PER_EPOCH)),
    ...torch.filter((r) => r.model === 'transformer').map((r) => torchTableRow(r, lmBatch * LM.bptt, LM_BATCHES_PER_EPOCH)),
  ]
  // Speed-up column: versus PyTorch CUDA at the same batch (the row this table exists to compare with).
  for (const rows of [resnetRows, lmRows]) {
    for (const r of rows) {
      const ref = rows.find((c) => c.device === 'cuda' && c.measuredBatch === r.measuredBatch)?.msPerStep
      if (ref !== undefined && r.msPerStep !== undefined) r.speedup = ref / r.msPerStep
    }
  }
  const header = [
    `Machine: ${describeMachine()}`,
    `GPU: ${gpuNames()} (one GPU on this machine: no multi-GPU rows); WebGPU adapter: ${adapter}`,
    'speed-up = PyTorch CUDA ms/step ÷ this row\'s (above 1 is faster than PyTorch CUDA); mean ms/step over the timed steps after 2 warm-ups (compiled: after 3 tracing calls and 1 replay)',
  ]
  const tables = {
    resnet18: formatDeviceTable(resnetRows, { unit: 'images', title: 'ResNet-18 training on one GPU (64×64, 200 classes, SGD momentum)', header }),
    transformer: formatDeviceTable(lmRows, { unit: 'tokens', title: 'Transformer LM training on one GPU (word_language_model defaults, bptt 35)', header }),
  }
  console.log(tables.resnet18.markdown)
  console.log(tables.transformer.markdown)
  for (const section of kernelSections) console.log(section)
  if (outDir !== undefined) {
    mkdirSync(outDir, { recursive: true })
    for (const [name, t] of Object.entries(tables)) {
      writeFileSync(path.join(outDir, `gpu-${name}.md`), t.markdown)
      writeFileSync(path.join(outDir, `gpu-${name}.csv`), t.csv)
    }
    writeFileSync(path.join(outDir, 'gpu-kernels.md'), [`# GPU time per kernel (timestamp queries)`, '', header.slice(0, 2).join('  \n'), '', ...kernelSections].join('\n'))
    writeFileSync(path.join(outDir, 'gpu.json'), JSON.stringify({ adapter, gpu: gpuNames(), torch, resnet: resnetRows, transformer: lmRows, kernels }, null, 2))
  }
  console.log(JSON.stringify({ bench: 'gpu', adapter, resnet: resnetRows.map(short), transformer: lmRows.map(short) }))
}

function short(r: DeviceBenchRow): { label: string; ms: number | undefined; perSecond: number | undefined; vsTorchCuda: number | undefined } {
  return { label: r.label, ms: r.msPerStep, perSecond: r.itemsPerSecond, vsTorchCuda: r.speedup }
}
