import os from 'node:os'
import { createDataParallel } from './data-parallel'
import type { BatchInput, DataParallelOptions, ReplicaDevice } from './data-parallel'
import type { StepTimings } from './_protocol'
import type { ReplicaSpec } from './replica-spec'

const PHASES = ['compute', 'wait', 'update', 'load'] as const

/** One row of the device table: a backend and a replica layout. */
export interface DeviceConfiguration {
  label: string
  device: ReplicaDevice
  replicas: number
  threadsPerReplica?: number
  /** Batch for this row when the full batch is too slow (pure-JS cpu): the time is extrapolated linearly. */
  batch?: number
  /** Run one untimed step first (default: true unless `batch` is set). */
  warmup?: boolean
  /** Timed steps for this row (default: the run's `steps`). */
  steps?: number
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
  device: ReplicaDevice
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
  const itemsPerExample = options.itemsPerExample ?? 1
  const rows: DeviceBenchRow[] = []
  for (const config of options.configurations) {
    const base = {
      label: config.label,
      device: config.device,
      replicas: config.replicas,
      threadsPerReplica: config.threadsPerReplica,
      measuredBatch: config.batch ?? options.batch,
      timedSteps: 0,
      msPerStep: undefined,
      itemsPerSecond: undefined,
      speedup: undefined,
      epochSeconds: undefined,
      cpuMsPerStep: undefined,
      startupSeconds: undefined,
      phases: undefined,
      backend: undefined,
    }
    if (config.skip !== undefined) {
      rows.push({ ...base, status: 'skipped', note: config.skip })
      log(`[devices] ${config.label}: skipped (${config.skip})`)
      continue
    }
    const batch = config.batch ?? options.batch
    const { x, y } = options.makeBatch(batch)
    const started = performance.now()
    let dp: Awaited<ReturnType<typeof createDataParallel>> | undefined
    try {
      dp = await createDataParallel({
        replica: options.replica,
        replicas: config.replicas,
        device: config.device,
        threadsPerReplica: config.threadsPerReplica,
        optimizer: options.optimizer,
        batchAxis: options.batchAxis,
      })
      const startupSeconds = (performance.now() - started) / 1000
      const lr = options.lr ?? 0.01
      const stepOptions = { clipGradNorm: options.clipGradNorm ?? 0 }
      const steps = config.steps ?? options.steps ?? 3
      const budgetMs = (options.maxSecondsPerRow ?? 120) * 1000
      log(`[devices] ${config.label}: started in ${startupSeconds.toFixed(1)} s (${dp.backends.map((b) => b.reason).join(' | ')})`)
      const warmup = config.warmup ?? config.batch === undefined
      if (warmup) await dp.step(x, y, lr, stepOptions) // warm-up: kernel/shader setup, first allocations
      const times: number[] = []
      const phases: StepTimings = { compute: 0, wait: 0, update: 0, load: 0 }
      const t0 = performance.now()
      const cpu0 = process.cpuUsage()
      while (times.length < steps && (times.length === 0 || performance.now() - t0 < budgetMs)) {
        const t = performance.now()
        const result = await dp.step(x, y, lr, stepOptions)
        times.push(performance.now() - t)
        for (const replica of result.timings) {
          for (const k of PHASES) phases[k] += replica[k] / result.timings.length
        }
        log(`[devices] ${config.label}: step ${times.length} ${(times[times.length - 1] as number).toFixed(0)} ms`)
      }
      const cpu = process.cpuUsage(cpu0)
      const cpuMsPerStep = (cpu.user + cpu.system) / 1000 / times.length
      for (const k of PHASES) phases[k] /= times.length
      const measured = median(times)
      const msPerStep = (measured * options.batch) / batch
      const extrapolated = batch !== options.batch
      rows.push({
        ...base,
        status: extrapolated ? 'extrapolated' : 'measured',
        timedSteps: times.length,
        msPerStep,
        itemsPerSecond: (options.batch * itemsPerExample * 1000) / msPerStep,
        epochSeconds: (options.examplesPerEpoch / options.batch) * (msPerStep / 1000),
        cpuMsPerStep,
        startupSeconds,
        phases,
        backend: dp.backends[0]?.adapter ?? dp.backends[0]?.device,
        note: [
          config.note,
          `per replica: compute ${phases.compute.toFixed(0)} ms, wait ${phases.wait.toFixed(0)}, all-reduce+SGD ${phases.update.toFixed(0)}, load ${phases.load.toFixed(0)}`,
          extrapolated ? `extrapolated: ${times.length} step${times.length === 1 ? '' : 's'} at batch ${batch}${warmup ? '' : ' (no warm-up)'}, scaled ×${options.batch / batch}` : undefined,
        ]
          .filter((s) => s !== undefined)
          .join('; '),
      })
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error)
      rows.push({ ...base, status: 'failed', note: message })
      log(`[devices] ${config.label}: failed: ${message}`)
    } finally {
      await dp?.dispose()
    }
  }
  const reference = rows.find((r) => r.msPerStep !== undefined)?.msPerStep
  for (const r of rows) if (r.msPerStep !== undefined && reference !== undefined) r.speedup = reference / r.msPerStep
  return rows
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
