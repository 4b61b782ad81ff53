/**
 * The table of `pnpm bench devices` and `pnpm resnet bench-devices`: the same short training (synthetic data, SGD) on each configuration this machine has: pure-JS cpu, wasm 1 thread,
 * wasm N threads, N data-parallel wasm replicas, wasm+native (@tinylab/native-cpu) when it loads, WebGPU (here Mesa
 * lavapipe: a CPU emulation of a GPU), tfjs-node-gpu when installed, and PyTorch CPU as the reference. Prints a
 * Markdown table (and writes it to --out, with a .csv beside it) of throughput, ms/step, speed-up versus the first
 * row and time per epoch (Tiny-ImageNet: 100,000 images; WikiText-2: 2,983 batches of 35×20 tokens).
 * ResNet-18: batch 64 of 64×64×3, 200 classes, momentum 0.9, wd 1e-4. Transformer: word_language_model defaults
 * (emsize 200, nhid 200, 2 layers, 2 heads, bptt 35, batch 20, 33,278 tokens).
 */
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runPython } from '@tinylab/test-utils/torch'
import { COMPILED_WARMUP_STEPS, benchmarkDevices, describeMachine, formatDeviceTable, stepRates, unmeasuredRow } from './benchmark-devices'
import type { DeviceBenchRow, DeviceConfiguration } from './benchmark-devices'

export type BenchModel = 'resnet18' | 'transformer'

export interface DevicesBenchOptions {
  model: BenchModel
  /** Examples per batch (default: resnet18 64 images, transformer 20 sequences of 35 tokens). */
  batch?: number
  steps?: number
  /**
   * Row keys to run (default all): cpu, wasm-1, wasm-n, dp-wasm, native-n, dp-native, webgpu (compiled step),
   * webgpu-eager, dp-webgpu (compiled steps), dp-webgpu-eager, tfjs-node-gpu, torch.
   */
  only?: string[]
  /** Markdown file to write (a .csv is written beside it). */
  out?: string
  skipTorch?: boolean
  log?: (line: string) => void
}

const replicasModule = fileURLToPath(new URL('./replicas.ts', import.meta.url))
const LM = { ntoken: 33_278, emsize: 200, nhid: 200, nlayers: 2, nhead: 2, dropout: 0.2, bptt: 35 } as const

/** Runs the table and returns it (`pnpm bench devices` and the ResNet example's `bench-devices` call this). */
export async function benchDevices(options: DevicesBenchOptions): Promise<{ rows: DeviceBenchRow[]; markdown: string; csv: string }> {
  const log = options.log ?? ((line: string) => console.error(line))
  const cores = os.availableParallelism()
  const isResNet = options.model === 'resnet18'
  const batch = options.batch ?? (isResNet ? 64 : 20)
  const wanted = (key: string): boolean => options.only === undefined || options.only.includes(key)
  const tfjsNodeGpu = resolvable('@tensorflow/tfjs-node-gpu')
  const webGpuBatch = isResNet ? 8 : 5
  const rows: [string, DeviceConfiguration][] = [
    [
      'cpu',
      isResNet
        ? { label: 'cpu (pure JS)', device: 'cpu', replicas: 1, batch: 2, steps: 1 }
        : {
            label: 'cpu (pure JS)',
            device: 'cpu',
            replicas: 1,
            skip:
              'not run: its UnsortedSegmentSum (the embedding gradient) loops over all 33,278 vocabulary rows whatever the batch; ' +
              'issue 2 measured 683 s for that kernel in one step',
          },
    ],
    ['wasm-1', { label: 'wasm, 1 thread', device: 'wasm', replicas: 1, threadsPerReplica: 1, group: 'wasm' }],
    ['wasm-n', { label: `wasm, ${cores} threads`, device: 'wasm', replicas: 1, threadsPerReplica: cores, group: 'wasm' }],
    ['dp-wasm', { label: `data-parallel wasm, ${cores} replicas`, device: 'wasm', replicas: cores, threadsPerReplica: 1, group: 'wasm' }],
    ['native-n', { label: `wasm+native, ${cores} threads`, device: 'auto', replicas: 1, threadsPerReplica: cores, group: 'native' }],
    ['dp-native', { label: `data-parallel wasm+native, ${cores} replicas`, device: 'auto', replicas: cores, threadsPerReplica: 1, group: 'native' }],
    // lavapipe runs WGSL on the CPU: a smaller batch keeps these rows short (linear extrapolation, said in the row).
    // Compiled rows replay each replica's forward + backward (3 untimed calls trace it); eager rows run op by op. Each
    // compiled row is interleaved with its eager row, so that other jobs' load hits both alike.
    ['webgpu', { label: 'webgpu, 1 device, compiled step', device: 'webgpu', replicas: 1, steps: 1, warmup: true, batch: webGpuBatch, group: 'webgpu' }],
    [
      'webgpu-eager',
      { label: 'webgpu, 1 device, eager', device: 'webgpu', compile: false, replicas: 1, steps: 1, warmup: true, batch: webGpuBatch, group: 'webgpu' },
    ],
    [
      'dp-webgpu',
      {
        label: 'data-parallel webgpu, 2 replicas (1 device each), compiled steps',
        device: 'webgpu',
        replicas: 2,
        steps: 1,
        warmup: true,
        batch: webGpuBatch,
        group: 'dp-webgpu',
      },
    ],
    [
      'dp-webgpu-eager',
      {
        label: 'data-parallel webgpu, 2 replicas (1 device each), eager',
        device: 'webgpu',
        compile: false,
        replicas: 2,
        steps: 1,
        warmup: true,
        batch: webGpuBatch,
        group: 'dp-webgpu',
      },
    ],
    [
      'tfjs-node-gpu',
      tfjsNodeGpu
        ? { label: 'tfjs-node-gpu', device: 'tensorflow', replicas: 1 }
        : { label: 'tfjs-node-gpu', device: 'tensorflow', replicas: 1, skip: 'not installed (needs CUDA 11.2 + cuDNN 8.1; downloads libtensorflow at install)' },
    ],
  ]
  const configurations = rows.filter(([key]) => wanted(key)).map(([, c]) => c)
  const measured = await benchmarkDevices({
    replica: isResNet
      ? { module: replicasModule, export: 'resnet18Replica', options: { numClasses: 200, seed: 1 } }
      : { module: replicasModule, export: 'transformerReplica', options: { ...LM, seed: 1 } },
    configurations,
    makeBatch: isResNet ? imageBatch : tokenBatch,
    batch,
    steps: options.steps ?? 3,
    maxSecondsPerRow: 90,
    itemsPerExample: isResNet ? 1 : LM.bptt,
    unit: isResNet ? 'images' : 'tokens',
    examplesPerEpoch: isResNet ? 100_000 : 2_983 * batch,
    lr: isResNet ? 0.01 : 20,
    clipGradNorm: isResNet ? 0 : 0.25,
    optimizer: isResNet ? { momentum: 0.9, weightDecay: 1e-4 } : {},
    batchAxis: isResNet ? 0 : 1,
    log,
  })
  const nativeRows = measured.filter((r) => r.device === 'auto' && r.status !== 'skipped' && r.status !== 'failed')
  for (const r of nativeRows) if (r.backend !== 'wasm+native') Object.assign(r, { status: 'skipped', note: `@tinylab/native-cpu did not load (plain wasm ran): ${r.note}` })
  if (wanted('torch') && !options.skipTorch) measured.push(await torchRow(options.model, batch, cores, measured, log))
  const adapters = [...new Set(measured.filter((r) => r.device === 'webgpu' && r.backend).map((r) => r.backend as string))]
  const header = [
    `Machine: ${describeMachine()}`,
    `GPUs: ${nvidiaGpus()}; WebGPU: ${adapters.length ? adapters.join(', ') + (adapters.some((a) => /llvmpipe|lavapipe|software|fallback/i.test(a)) ? ' (Mesa lavapipe: a CPU emulation of a GPU, not a GPU)' : '') : 'no adapter measured'}`,
    `Model: ${isResNet ? `ResNet-18, batch ${batch} of 64×64×3, 200 classes, SGD momentum 0.9` : `Transformer LM (emsize 200, nhid 200, 2 layers, 2 heads), bptt 35 × batch ${batch}, 33,278 tokens, SGD`}; ` +
      `time/epoch for ${isResNet ? '100,000 images (Tiny-ImageNet train)' : '2,983 batches (WikiText-2 train)'}; median of up to ${options.steps ?? 3} timed steps after 1 warm-up (compiled WebGPU rows: after the ${COMPILED_WARMUP_STEPS} calls that trace); other processes may share the cores (load average ${os.loadavg()[0]?.toFixed(2)})`,
  ]
  const table = formatDeviceTable(measured, { unit: isResNet ? 'images' : 'tokens', title: `Training speed by device: ${options.model}`, header })
  if (options.out) {
    mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true })
    writeFileSync(options.out, table.markdown)
    writeFileSync(options.out.replace(/\.md$/, '') + '.csv', table.csv)
  }
  return { rows: measured, ...table }
}

function imageBatch(n: number): { x: { data: Float32Array; shape: number[] }; y: { data: Int32Array; shape: number[] } } {
  let s = 12345
  const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1
  return {
    x: { data: Float32Array.from({ length: n * 64 * 64 * 3 }, rand), shape: [n, 64, 64, 3] },
    y: { data: Int32Array.from({ length: n }, (_, i) => (i * 37) % 200), shape: [n] },
  }
}

function tokenBatch(n: number): { x: { data: Int32Array; shape: number[] }; y: { data: Int32Array; shape: number[] } } {
  // [bptt, batch] like batchify/get_batch; targets are the next tokens
  const tokens = Int32Array.from({ length: (LM.bptt + 1) * n }, (_, i) => (i * 7919) % LM.ntoken)
  return { x: { data: tokens.slice(0, LM.bptt * n), shape: [LM.bptt, n] }, y: { data: tokens.slice(n), shape: [LM.bptt, n] } }
}

function resolvable(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg)
    return true
  } catch {
    return false
  }
}

function nvidiaGpus(): string {
  try {
    const list = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 }).trim().split('\n').filter(Boolean)
    return `${list.length} NVIDIA (${list.join('; ')})`
  } catch {
    return 'none (no nvidia-smi / NVIDIA driver)'
  }
}

async function torchRow(model: BenchModel, batch: number, cores: number, rows: DeviceBenchRow[], log: (l: string) => void): Promise<DeviceBenchRow> {
  const script = model === 'resnet18' ? TORCH_RESNET : TORCH_LM
  const base = unmeasuredRow({
    label: `PyTorch CPU, ${cores} threads (reference)`,
    device: 'cpu',
    replicas: 1,
    threadsPerReplica: cores,
    status: 'failed',
    measuredBatch: batch,
    backend: 'torch',
    note: '',
  })
  try {
    const out = JSON.parse((await runPython(script, [String(batch)], { threads: cores, benchmark: true })).trim().split('\n').pop() as string) as { ms: number; cpuMs: number; version: string; steps: number }
    const items = model === 'resnet18' ? batch : batch * LM.bptt
    const perEpoch = model === 'resnet18' ? 100_000 / batch : 2_983
    const reference = rows.find((r) => r.msPerStep !== undefined)?.msPerStep
    log(`[devices] torch: ${out.ms.toFixed(0)} ms/step`)
    return {
      ...base,
      status: 'measured',
      timedSteps: out.steps,
      ...stepRates(out.ms, items, perEpoch),
      speedup: reference === undefined ? undefined : reference / out.ms,
      cpuMsPerStep: out.cpuMs,
      backend: `torch ${out.version}`,
      note: `Debian python3-torch ${out.version}, same model and batch`,
    }
  } catch (error) {
    return { ...base, note: `PyTorch not measured: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}` }
  }
}

const TORCH_TIMER = `
def bench(step, steps=3):
    step()
    times = []
    cpu = time.process_time()
    for _ in range(steps):
        t = time.perf_counter(); step(); times.append((time.perf_counter() - t) * 1000)
    cpu = (time.process_time() - cpu) * 1000 / steps
    times.sort()
    print(json.dumps({'ms': times[len(times) // 2], 'cpuMs': cpu, 'version': torch.__version__, 'steps': steps}))
`

const TORCH_RESNET = `
import json, sys, time, torch, torchvision
torch.manual_seed(0)
${TORCH_TIMER}
b = int(sys.argv[1])
model = torchvision.models.resnet18(num_classes=200)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
x = torch.randn(b, 3, 64, 64); y = torch.randint(0, 200, (b,))
def step():
    opt.zero_grad(); torch.nn.functional.cross_entropy(model(x), y).backward(); opt.step()
bench(step)
`

// word_language_model/model.py's TransformerModel, as transcribed for the parity tests.
const TORCH_LM = `
import json, sys, time, torch, torch.nn as nn
sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../../transformer-lm/test', import.meta.url)))})
import reference_model
torch.manual_seed(0)
${TORCH_TIMER}
b = int(sys.argv[1]); T, V, E, H, NH, L = ${LM.bptt}, ${LM.ntoken}, ${LM.emsize}, ${LM.nhid}, ${LM.nhead}, ${LM.nlayers}
model = reference_model.TransformerModel(V, E, NH, H, L, 0.2); model.train()
data = torch.randint(0, V, (T, b)); targets = torch.randint(0, V, (T * b,))
def step():
    model.zero_grad(); loss = nn.functional.nll_loss(model(data).view(-1, V), targets); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
    for p in model.parameters(): p.data.add_(p.grad, alpha=-20)
bench(step)
`
