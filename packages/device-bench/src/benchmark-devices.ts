import os from 'node:os'
import { createDataParallel } from '@tinylab/multi-device'
import type { BatchInput, DataParallel, DataParallelOptions, ReplicaDevice, ReplicaPlanInfo, ReplicaSpec, StepTimings } from '@tinylab/multi-device'

const PHASES = ['compute', 'wait', 'update', 'load'] as const

/** Calls a compiled WebGPU step runs eagerly before it replays (a warm-up call and two traced calls). */
export const COMPILED_WARMUP_STEPS = 3

/** One row of the device table: a backend and a replica layout. */
export interface DeviceConfiguration {
  label: string
  device: ReplicaDevice
  replicas: number
  threadsPerReplica?: number
  /** Batch for this row when the full batch is too slow (pure-JS cpu): the time is extrapolated linearly. */
  batch?: number
  /**
   * Run untimed steps first (default: true unless `batch` is set): one, or for compiled WebGPU rows the
   * {@link COMPILED_WARMUP_STEPS} calls that trace the step, so that only replays are timed.
   */
  warmup?: boolean
  /** Device 'webgpu': replicas replay a compiled step (DataParallelOptions.compile; default true), false runs op by op. */
  compile?: boolean
  /** Timed steps for this row (default: the run's `steps`). */
  steps?: number
  /**
   * Rows with the same group are started together and timed step by step in turn (A, B, C, A, B, C, …), so that load
   * from other processes on a shared machine affects them alike. Their replicas are all in memory at once.
   */
  group?: string
  /** When set, the row is not run and this says why (e.g. "not installed"). */
  skip?: string
  note?: string
}

export interface DeviceBenchOptions {
  replica: ReplicaSpec
  configurations: DeviceConfiguration[]
  /** A batch of `batch` examples (the same data for every row). */
  makeBatch(batch: number): { x: BatchInput; y: BatchInput }
  batch: number
  /** Timed steps per row after the warm-up step (default 3). */
  steps?: number
  /** Stop timing a row after this many seconds (at least one step is timed; default 120). */
  maxSecondsPerRow?: number
  /** What one example counts for throughput: 1 image, or seqLen tokens. */
  itemsPerExample?: number
  unit: string
  /** Examples per epoch, for the time-per-epoch column (Tiny-ImageNet: 100,000 images; WikiText-2: 2,983 batches × 20). */
  examplesPerEpoch: number
  lr?: number
  /** clip_grad_norm_ every step (the word LM's --clip 0.25). */
  clipGradNorm?: number
  optimizer?: DataParallelOptions['optimizer']
  batchAxis?: DataParallelOptions['batchAxis']
  log?: (line: string) => void
}

export interface DeviceBenchRow {
  label: string
  /** 'cuda': a reference row (PyTorch on an NVIDIA GPU) placed in the same table. */
  device: ReplicaDevice | 'cuda'
  replicas: number
  threadsPerReplica: number | undefined
  status: 'measured' | 'extrapolated' | 'skipped' | 'failed'
  /** Batch the time was measured at. */
  measuredBatch: number
  timedSteps: number
  /** ms per step at the run's batch (extrapolated rows: scaled from measuredBatch). */
  msPerStep: number | undefined
  itemsPerSecond: number | undefined
  /** Versus the first row with a time. */
  speedup: number | undefined
  epochSeconds: number | undefined
  /**
   * CPU time of this process (all threads: the replica workers and wasm's pthreads are threads of it) per step at the
   * measured batch. Unlike ms/step it barely changes when other processes load the machine.
   */
  cpuMsPerStep: number | undefined
  startupSeconds: number | undefined
  /** Mean over replicas and timed steps of where a replica's step went (ms): compute, wait, update, load. */
  phases: StepTimings | undefined
  backend: string | undefined
  note: string
}

/**
 * Runs the same short data-parallel training on each configuration and measures ms/step, throughput, speed-up
 * versus the first row, and time per epoch. Startup (workers, module loading, backend init) and one warm-up step
 * are not timed.
 *
 * ```ts
 * const rows = await benchmarkDevices({
 *   replica: { module: '/abs/path/replicas.ts', export: 'resnet18Replica', options: { numClasses: 200 } },
 *   configurations: [{ label: 'wasm 1 thread', device: 'wasm', replicas: 1, threadsPerReplica: 1 }],
 *   makeBatch: (n) => ({ x: { data: new Float32Array(n * 64 * 64 * 3), shape: [n, 64, 64, 3] }, y: { data: new Int32Array(n), shape: [n] } }),
 *   batch: 64, unit: 'images', examplesPerEpoch: 100_000,
 * })
 * console.log(formatDeviceTable(rows, { unit: 'images' }).markdown)
 * ```
 */
export async function benchmarkDevices(options: DeviceBenchOptions): Promise<DeviceBenchRow[]> {
  const log = options.log ?? ((line: string) => console.error(line))
  const rows: DeviceBenchRow[] = []
  const done = new Set<DeviceConfiguration>()
  const measured = new Map<DeviceConfiguration, DeviceBenchRow>()
  for (const config of options.configurations) {
    if (done.has(config)) continue
    // Rows of one group run interleaved, step by step, so that load from other processes hits them alike.
    const group = config.group === undefined ? [config] : options.configurations.filter((c) => c.group === config.group)
    for (const c of group) done.add(c)
    const results = await measureInterleaved(group, options, log)
    group.forEach((c, i) => measured.set(c, results[i] as DeviceBenchRow))
  }
  for (const config of options.configurations) rows.push(measured.get(config) as DeviceBenchRow)
  const reference = rows.find((r) => r.msPerStep !== undefined)?.msPerStep
  for (const r of rows) if (r.msPerStep !== undefined && reference !== undefined) r.speedup = reference / r.msPerStep
  return rows
}

interface LiveRow {
  config: DeviceConfiguration
  row: DeviceBenchRow
  dp?: DataParallel
  x: BatchInput
  y: BatchInput
  batch: number
  warmup: boolean
  steps: number
  times: number[]
  cpuMs: number
  phases: StepTimings
  /** Untimed steps before the timed ones. */
  warmupSteps: number
  /** The replicas' compiled steps after the last timed step (compiled WebGPU rows). */
  plans?: ReplicaPlanInfo[]
}

/** A row with nothing timed yet: what identifies it, its status and note; every measurement undefined. */
export function unmeasuredRow(
  id: Pick<DeviceBenchRow, 'label' | 'device' | 'replicas' | 'threadsPerReplica' | 'measuredBatch' | 'status' | 'backend' | 'note'>,
): DeviceBenchRow {
  return {
    ...id,
    timedSteps: 0,
    msPerStep: undefined,
    itemsPerSecond: undefined,
    speedup: undefined,
    epochSeconds: undefined,
    cpuMsPerStep: undefined,
    startupSeconds: undefined,
    phases: undefined,
  }
}

async function measureInterleaved(configs: DeviceConfiguration[], options: DeviceBenchOptions, log: (line: string) => void): Promise<DeviceBenchRow[]> {
  const lr = options.lr ?? 0.01
  const stepOptions = { clipGradNorm: options.clipGradNorm ?? 0 }
  const budgetMs = (options.maxSecondsPerRow ?? 120) * 1000
  const live: LiveRow[] = configs.map((config) => {
    const batch = config.batch ?? options.batch
    const warmup = config.warmup ?? config.batch === undefined
    return {
      config,
      row: unmeasuredRow({
        label: config.label,
        device: config.device,
        replicas: config.replicas,
        threadsPerReplica: config.threadsPerReplica,
        measuredBatch: batch,
        backend: undefined,
        status: config.skip === undefined ? 'measured' : 'skipped',
        note: config.skip ?? '',
      }),
      ...options.makeBatch(batch),
      batch,
      warmup,
      warmupSteps: warmup ? (compiles(config) ? COMPILED_WARMUP_STEPS : 1) : 0,
      steps: config.steps ?? options.steps ?? 3,
      times: [],
      cpuMs: 0,
      phases: { compute: 0, wait: 0, update: 0, load: 0 },
    }
  })
  const fail = (r: LiveRow, error: unknown): void => {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)
    r.row.status = 'failed'
    r.row.note = message
    log(`[devices] ${r.config.label}: failed: ${message}`)
  }
  try {
    for (const r of live) {
      if (r.config.skip !== undefined) {
        log(`[devices] ${r.config.label}: skipped (${r.config.skip})`)
        continue
      }
      const started = performance.now()
      try {
        r.dp = await createDataParallel({
          replica: options.replica,
          replicas: r.config.replicas,
          device: r.config.device,
          threadsPerReplica: r.config.threadsPerReplica,
          optimizer: options.optimizer,
          batchAxis: options.batchAxis,
          compile: r.config.compile,
        })
        r.row.startupSeconds = (performance.now() - started) / 1000
        r.row.backend = r.dp.backends[0]?.adapter ?? r.dp.backends[0]?.device
        log(`[devices] ${r.config.label}: started in ${r.row.startupSeconds.toFixed(1)} s (${r.dp.backends.map((b) => b.reason).join(' | ')})`)
        // Kernel/shader setup, first allocations; a compiled step's eager and traced calls.
        for (let i = 0; i < r.warmupSteps; i++) await r.dp.step(r.x, r.y, lr, stepOptions)
      } catch (error) {
        fail(r, error)
      }
    }
    const t0 = performance.now()
    for (let round = 0; ; round++) {
      const pending = live.filter(
        (r) => r.dp !== undefined && r.row.status === 'measured' && r.times.length < r.steps && (r.times.length === 0 || performance.now() - t0 < budgetMs * configs.length),
      )
      if (pending.length === 0) break
      for (const r of pending) {
        try {
          const cpu0 = process.cpuUsage()
          const t = performance.now()
          const result = await (r.dp as DataParallel).step(r.x, r.y, lr, stepOptions)
          r.times.push(performance.now() - t)
          const cpu = process.cpuUsage(cpu0)
          r.cpuMs += (cpu.user + cpu.system) / 1000
          for (const replica of result.timings) for (const k of PHASES) r.phases[k] += replica[k] / result.timings.length
          r.plans = result.plans
          log(`[devices] ${r.config.label}: step ${r.times.length} ${(r.times[r.times.length - 1] as number).toFixed(0)} ms`)
        } catch (error) {
          fail(r, error)
        }
      }
    }
  } finally {
    for (const r of live) await r.dp?.dispose()
  }
  return live.map((r) => finishRow(r, options))
}

/** ms/step and what follows from it: throughput (`itemsPerStep` per step) and the time of `stepsPerEpoch` steps. */
export function stepRates(msPerStep: number, itemsPerStep: number, stepsPerEpoch: number): Pick<DeviceBenchRow, 'msPerStep' | 'itemsPerSecond' | 'epochSeconds'> {
  return { msPerStep, itemsPerSecond: (itemsPerStep * 1000) / msPerStep, epochSeconds: (stepsPerEpoch * msPerStep) / 1000 }
}

function finishRow(r: LiveRow, options: DeviceBenchOptions): DeviceBenchRow {
  if (r.row.status !== 'measured' || r.times.length === 0) return r.row
  const n = r.times.length
  for (const k of PHASES) r.phases[k] /= n
  const msPerStep = (median(r.times) * options.batch) / r.batch
  const extrapolated = r.batch !== options.batch
  const p = r.phases
  return {
    ...r.row,
    status: extrapolated ? 'extrapolated' : 'measured',
    timedSteps: n,
    ...stepRates(msPerStep, options.batch * (options.itemsPerExample ?? 1), options.examplesPerEpoch / options.batch),
    cpuMsPerStep: r.cpuMs / n,
    phases: p,
    note: [
      r.config.note,
      r.config.group === undefined ? undefined : `interleaved with the other '${r.config.group}' rows`,
      r.config.device === 'webgpu' ? describePlans(r) : undefined,
      `per replica: compute ${p.compute.toFixed(0)} ms, wait ${p.wait.toFixed(0)}, all-reduce+SGD ${p.update.toFixed(0)}, load ${p.load.toFixed(0)}`,
      extrapolated
        ? `extrapolated: ${n} step${n === 1 ? '' : 's'} at batch ${r.batch}${r.warmup ? ` after ${r.warmupSteps} untimed` : ' (no warm-up)'}, scaled ×${options.batch / r.batch}`
        : undefined,
    ]
      .filter((s) => s !== undefined)
      .join('; '),
  }
}

function compiles(config: DeviceConfiguration): boolean {
  return config.device === 'webgpu' && (config.compile ?? true)
}

/** What a WebGPU row's timed steps ran: each replica's compiled plan (mode, dispatches per step), or op by op. */
function describePlans(r: LiveRow): string {
  if (!compiles(r.config)) return 'eager: op by op, one tfjs dispatch per kernel'
  const plans = r.plans ?? []
  const modes = [...new Set(plans.map((p) => p.mode))].join('/')
  const dispatches = [...new Set(plans.map((p) => p.dispatches))].join('/')
  return `compiled: timed steps ${modes === 'compiled' ? 'replayed' : `ran '${modes}'`} (${plans.length} plan${plans.length === 1 ? '' : 's'}, ${dispatches} dispatches per step each, after ${r.warmupSteps} untimed calls that trace)`
}

/** The machine a table was measured on: CPU, cores, GPUs, as a header line. */
export function describeMachine(extra: string[] = []): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return [`${cpu}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`, ...extra].join('; ')
}

/** The table as Markdown and CSV (the CSV has full precision and one column per field). */
export function formatDeviceTable(rows: DeviceBenchRow[], options: { unit: string; title?: string; header?: string[] }): { markdown: string; csv: string } {
  const fmt = (v: number | undefined, digits: number): string => (v === undefined ? '—' : v.toFixed(digits))
  const epoch = (s: number | undefined): string => {
    if (s === undefined) return '—'
    const h = Math.floor(s / 3600)
    const m = Math.round((s % 3600) / 60)
    return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`
  }
  const md = [
    ...(options.title ? [`### ${options.title}`, ''] : []),
    ...(options.header ?? []).map((line) => `${line}  `),
    ...(options.header?.length ? [''] : []),
    `| configuration | replicas × threads | ${options.unit}/s | ms/step | speed-up | time/epoch | CPU ms/step | status | notes |`,
    '|---|---|---:|---:|---:|---:|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.replicas} × ${r.threadsPerReplica ?? '—'} | ${fmt(r.itemsPerSecond, 1)} | ${fmt(r.msPerStep, 0)} | ${r.speedup === undefined ? '—' : `${r.speedup.toFixed(2)}×`} | ${epoch(r.epochSeconds)} | ${fmt(r.cpuMsPerStep, 0)} | ${r.status} | ${r.note.replace(/\|/g, '/')} |`,
    ),
  ].join('\n')
  const csvField = (v: unknown): string => {
    const s = v === undefined ? '' : String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  const columns: (keyof DeviceBenchRow)[] = [
    'label', 'device', 'replicas', 'threadsPerReplica', 'status', 'measuredBatch', 'timedSteps', 'msPerStep', 'itemsPerSecond', 'speedup', 'epochSeconds', 'cpuMsPerStep', 'startupSeconds', 'backend', 'note',
  ]
  const header = [...columns, ...PHASES.map((k) => `${k}Ms`)]
  const csv =
    [header.join(','), ...rows.map((r) => [...columns.map((c) => csvField(r[c])), ...PHASES.map((k) => csvField(r.phases?.[k]))].join(','))].join('\n') + '\n'
  return { markdown: md + '\n', csv }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
