/**
 * One full epoch of ResNet-18 on 200-class, Tiny-ImageNet-sized data on a GPU machine that has no data and no registry
 * (issue 15). Bundled as `.gpu/resnet-epoch.mjs` by gpu-bundle.mjs, beside `resnet.mjs` (`pnpm resnet`); run by
 * gpu-device.sh when RESNET_EPOCH=1:
 *
 *   node resnet-epoch.mjs run --out OUT [--data DIR] [--processes N] [--seconds S] [--train-per-class N] ... [-- TRAIN FLAGS]
 *
 * 1. makes the synthetic dataset at the real sizes (`_synthetic-shards.ts`, N processes) and times it;
 * 2. runs `resnet.mjs train DIR --epochs 1 --device webgpu -b 256` (plus TRAIN FLAGS), its output into
 *    OUT/resnet-epoch-webgpu.txt and here, each line's arrival time noted; Ctrl-C'd (the trainer saves and stops) when
 *    S seconds are up;
 * 3. prints the times (data generation, start-up, the epoch: training + validation, images/s) and one JSON line, also
 *    written to OUT/resnet-epoch-webgpu.json.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { flagTable, parseFlags, UsageError, type FlagValues } from '@tinylab/cli-flags'
import { readSplit } from '@tinylab/tiny-imagenet-data'
import { makeFullSynthetic, TINY_IMAGENET_SIZES, writeShard, type FullSyntheticOptions } from './_synthetic-shards'

/** One line of the trainer's output and when it arrived (seconds since the trainer started). */
export interface TimedLine {
  t: number
  text: string
}

export interface EpochSummary {
  /** Training batches of the epoch (from the `Epoch: [0][ i/N]` lines) and how many finished. */
  batches: number | undefined
  batchesDone: number
  /** Seconds from the trainer's start to the `=> run folder` line: backend, model, layer table, data listing. */
  startupS: number | undefined
  /** Seconds from `=> run folder` to the end of the first batch: loaders start, the step is traced and compiled. */
  firstBatchS: number | undefined
  /** The training loop's own time (last printed `Epoch` line's average Time x its batches) and those batches. */
  trainLoopS: number | undefined
  trainLoopBatches: number
  /** Mean data wait per batch (the loader's share of a step). */
  dataWaitS: number | undefined
  /** Images/s between the first and the last printed batch (after the trace), from the line times. */
  steadyImagesPerS: number | undefined
  /** Seconds from the start of validation (first `Test` line less its batch time) to the ` * Acc@1` line. */
  validationS: number | undefined
  /** Seconds from `=> run folder` to ` * Acc@1`: the whole epoch as a user waits for it, trace included. */
  epochS: number | undefined
  acc1: number | undefined
  acc5: number | undefined
  /** Seconds from start to exit of the trainer. */
  totalS: number
}

const PROGRESS = /^(Epoch: \[\d+\]|Test: )\[\s*(\d+)\/(\d+)\]\tTime\s+([\d.]+)\s+\(\s*([\d.]+)\)(?:\tData\s+[\d.]+\s+\(\s*([\d.]+)\))?/
const SUMMARY = /^ \* +Acc@1 ([\d.]+) Acc@5 ([\d.]+)/

/** Reads the times out of a `pnpm resnet train` log of one epoch (the lines imagenet main.py prints). */
export function summarizeEpoch(lines: TimedLine[], batchSize: number, totalS: number): EpochSummary {
  const runFolder = lines.find((l) => l.text.startsWith('=> run folder '))
  const progress = lines.flatMap((l) => {
    const m = PROGRESS.exec(l.text)
    if (!m) return []
    return [{ t: l.t, train: (m[1] as string).startsWith('Epoch'), i: Number(m[2]), n: Number(m[3]), time: Number(m[4]), avgTime: Number(m[5]), avgData: m[6] === undefined ? undefined : Number(m[6]) }]
  })
  const train = progress.filter((p) => p.train)
  const first = train[0]
  const last = train.at(-1)
  const firstTest = progress.find((p) => !p.train)
  const done = lines.find((l) => SUMMARY.test(l.text))
  const acc = done ? SUMMARY.exec(done.text) : null
  // Lines come every --print-freq batches; a stopped run says how far it got in its Ctrl-C line.
  const stoppedAt = lines.map((l) => /saved .* at epoch \d+, batch (\d+)/.exec(l.text)).find((m) => m !== null)
  const batchesDone = firstTest && last ? last.n : stoppedAt ? Number(stoppedAt[1]) : last ? last.i + 1 : 0
  return {
    batches: last?.n,
    batchesDone,
    startupS: runFolder?.t,
    firstBatchS: runFolder && first ? first.t - runFolder.t : undefined,
    trainLoopS: last ? last.avgTime * (last.i + 1) : undefined,
    trainLoopBatches: last ? last.i + 1 : 0,
    dataWaitS: last?.avgData,
    steadyImagesPerS: first && last && last.i > first.i ? ((last.i - first.i) * batchSize) / (last.t - first.t) : undefined,
    validationS: done && firstTest ? done.t - (firstTest.t - firstTest.time) : undefined,
    epochS: done && runFolder ? done.t - runFolder.t : undefined,
    acc1: acc ? Number(acc[1]) : undefined,
    acc5: acc ? Number(acc[2]) : undefined,
    totalS,
  }
}

const FLAGS = flagTable({
  out: { names: ['--out'], type: 'string', metavar: 'DIR', default: '/tmp/gpu-out', help: 'where resnet-epoch-webgpu.txt and the JSON go' },
  data: { names: ['--data'], type: 'string', metavar: 'DIR', default: '/tmp/tiny-imagenet-synthetic-full', help: 'dataset folder (made when absent)' },
  processes: { names: ['--processes'], type: 'positive int', metavar: 'N', default: os.availableParallelism(), help: 'processes that make the data' },
  logdir: { names: ['--logdir'], type: 'string', metavar: 'DIR', default: path.join(os.tmpdir(), 'resnet-epoch-runs'), help: "the trainer's run folders (checkpoints: ~90 MB)" },
  seconds: { names: ['--seconds'], type: 'positive int', metavar: 'S', default: 360, help: 'Ctrl-C the trainer after S seconds' },
  classes: { names: ['--classes'], type: 'positive int', metavar: 'N', default: TINY_IMAGENET_SIZES.classes, help: 'classes' },
  train_per_class: { names: ['--train-per-class'], type: 'positive int', metavar: 'N', default: TINY_IMAGENET_SIZES.trainPerClass, help: 'train images per class' },
  val_per_class: { names: ['--val-per-class'], type: 'positive int', metavar: 'N', default: TINY_IMAGENET_SIZES.valPerClass, help: 'val images per class' },
  seed: { names: ['--seed'], type: 'non-negative int', metavar: 'N', default: TINY_IMAGENET_SIZES.seed, help: 'seed of shard 0' },
  device: { names: ['--device'], type: 'string', default: 'webgpu', help: 'the trainer\'s --device' },
  batch_size: { names: ['-b', '--batch-size'], type: 'positive int', metavar: 'N', default: 256, help: "the trainer's batch (the reference run's)" },
})

const fmt = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits))

/** Spawns the trainer, time-stamps its lines into `log` (and stdout), Ctrl-C's it after `seconds`. */
function train(resnet: string, args: string[], logFile: string, seconds: number): Promise<{ lines: TimedLine[]; totalS: number; code: number | null }> {
  const log = createWriteStream(logFile)
  const lines: TimedLine[] = []
  const t0 = performance.now()
  const child = spawn(process.execPath, [resnet, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const timer = setTimeout(() => {
    console.log(`=> resnet-epoch: ${seconds} s are up: Ctrl-C to the trainer`)
    child.kill('SIGINT')
  }, seconds * 1000)
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000)
  // `timeout -s INT` signals the whole process group: the trainer stops on its own, this process reports.
  const ignore = (): void => undefined
  process.on('SIGINT', ignore)
  for (const stream of [child.stdout, child.stderr]) {
    let rest = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n')
      rest = parts.pop() ?? ''
      const t = (performance.now() - t0) / 1000
      for (const text of parts) {
        if (text.startsWith('Warning: maxDynamic')) continue
        lines.push({ t, text })
        log.write(`${text}\n`)
        process.stdout.write(`${text}\n`)
      }
    })
  }
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      clearTimeout(killer)
      process.off('SIGINT', ignore)
      log.end(() => resolve({ lines, totalS: (performance.now() - t0) / 1000, code }))
    })
  })
}

/** Makes the dataset in `o.data` unless it is there; counts it with the package's own reader, as the trainer lists it. */
async function ensureData(o: FlagValues<typeof FLAGS>): Promise<{ dataS: number; trainCount: number; valCount: number; classes: number }> {
  const sizes: FullSyntheticOptions = { classes: o.classes, trainPerClass: o.train_per_class, valPerClass: o.val_per_class, seed: o.seed }
  let dataS = 0
  let phases = ''
  if (!existsSync(path.join(o.data, 'wnids.txt'))) {
    console.log(`=> resnet-epoch: making ${sizes.classes} x ${sizes.trainPerClass} train + ${sizes.classes * sizes.valPerClass} val synthetic JPEGs in ${o.data} with ${o.processes} processes`)
    const t = performance.now()
    const made = await makeFullSynthetic(o.data, sizes, o.processes, fileURLToPath(import.meta.url))
    dataS = (performance.now() - t) / 1000
    phases = ` (drawing + encoding ${fmt(made.shardsS)} s, merging ${fmt(made.mergeS)} s)`
  }
  const train = readSplit(o.data, 'train')
  const trainCount = train.samples.length
  const valCount = readSplit(o.data, 'val').samples.length
  const classes = train.classes.wnids.length
  console.log(
    `=> resnet-epoch: data ${o.data}: ${classes} classes, ${trainCount} train, ${valCount} val images; ` +
      (dataS > 0 ? `generated in ${fmt(dataS)} s${phases} by ${o.processes} processes (every image distinct: shard p drawn with seed ${o.seed} + p)` : 'folder already there'),
  )
  return { dataS, trainCount, valCount, classes }
}

/** `data --data DIR [--processes N] [sizes]`: only the dataset (to time its generation). */
async function dataCommand(argv: string[]): Promise<number> {
  await ensureData(parseFlags(argv, FLAGS).values)
  return 0
}

async function runCommand(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--')
  const { values: o } = parseFlags(dash < 0 ? argv : argv.slice(0, dash), FLAGS)
  const extra = dash < 0 ? [] : argv.slice(dash + 1)
  const resnet = path.join(path.dirname(fileURLToPath(import.meta.url)), 'resnet.mjs')
  if (!existsSync(resnet)) throw new UsageError(`${resnet}: not found (run the bundle made by scripts/bench/gpu-bundle.mjs)`)
  mkdirSync(o.out, { recursive: true })
  const { dataS, trainCount, valCount, classes } = await ensureData(o)
  const args = [o.data, '--epochs', '1', '--device', o.device, '-b', String(o.batch_size), '--logdir', o.logdir, ...extra]
  console.log(`=> resnet-epoch: ${path.basename(process.execPath)} resnet.mjs train ${args.join(' ')}`)
  const run = await train(resnet, args, path.join(o.out, `resnet-epoch-${o.device}.txt`), o.seconds)
  const s = summarizeEpoch(run.lines, o.batch_size, run.totalS)
  const complete = s.epochS !== undefined
  const loopImages = Math.min(trainCount, s.trainLoopBatches * o.batch_size)
  const result = {
    device: o.device,
    classes,
    train_images: trainCount,
    val_images: valCount,
    batch: o.batch_size,
    data_processes: o.processes,
    data_s: dataS,
    exit_code: run.code,
    complete,
    ...s,
    train_images_per_s: s.trainLoopS ? loopImages / s.trainLoopS : undefined,
    epoch_images_per_s: s.epochS ? trainCount / s.epochS : undefined,
    // An unfinished epoch: its first batch (with the trace) and the rest at the steady rate.
    projected_train_s: !complete && s.firstBatchS !== undefined && s.steadyImagesPerS ? s.firstBatchS + (trainCount - o.batch_size) / s.steadyImagesPerS : undefined,
  }
  console.log(
    `resnet-epoch (${o.device}, ResNet-18, ${classes} classes, batch ${o.batch_size}): data generation ${fmt(dataS)} s (${trainCount + valCount} JPEGs, ${o.processes} processes); ` +
      (complete
        ? `epoch ${fmt(s.epochS)} s = ${fmt(result.epoch_images_per_s, 0)} train img/s with validation (start-up ${fmt(s.startupS)} s before it; trace + first step ${fmt(s.firstBatchS)} s; ` +
          `training loop ${fmt(s.trainLoopS)} s = ${fmt(result.train_images_per_s, 0)} img/s, data wait ${fmt(s.dataWaitS, 3)} s/batch; steady ${fmt(s.steadyImagesPerS, 0)} img/s; ` +
          `validation ${fmt(s.validationS)} s; Acc@1 ${fmt(s.acc1, 3)})`
        : `epoch NOT finished in ${o.seconds} s: ${s.batchesDone}/${s.batches ?? '?'} batches, training loop ${fmt(s.trainLoopS)} s = ${fmt(result.train_images_per_s, 0)} img/s, ` +
          `steady ${fmt(s.steadyImagesPerS, 0)} img/s, so the training alone would take ~${fmt(result.projected_train_s, 0)} s`) +
      `; trainer ${fmt(run.totalS)} s in all, exit ${run.code}`,
  )
  console.log(JSON.stringify(result))
  writeFileSync(path.join(o.out, `resnet-epoch-${o.device}.json`), JSON.stringify(result, null, 2) + '\n')
  return complete && run.code === 0 ? 0 : 1
}

/** `shard DIR p/P --classes ...`: one process's share (started by `makeFullSynthetic`). */
async function shardCommand(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseFlags(argv, FLAGS, { positionals: true })
  const [dir, which] = positionals
  const m = /^(\d+)\/(\d+)$/.exec(which ?? '')
  if (dir === undefined || !m) throw new UsageError('usage: shard DIR p/P')
  await writeShard(dir, Number(m[1]), Number(m[2]), { classes: o.classes, trainPerClass: o.train_per_class, valPerClass: o.val_per_class, seed: o.seed })
  return 0
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === 'run') return await runCommand(rest)
    if (command === 'data') return await dataCommand(rest)
    if (command === 'shard') return await shardCommand(rest)
    throw new UsageError('usage: resnet-epoch.mjs run|data [--out DIR] [--data DIR] [--processes N] [--seconds S] [...] [-- TRAIN FLAGS]')
  } catch (e) {
    console.error(`resnet-epoch: error: ${(e as Error).message}`)
    return e instanceof UsageError ? 2 : 1
  }
}
