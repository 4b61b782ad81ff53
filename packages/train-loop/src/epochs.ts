import { AverageMeter, ProgressMeter, Summary } from '@tinylab/metrics-logger'
import type { BatchResult } from './classifier'

export interface EpochOptions<B> {
  batches: AsyncIterable<B>
  /** Batches in the epoch (fewer for a smoke run): the progress lines' denominator; the loop stops there. */
  total: number
  /** Images in a batch (the meters' weights). */
  size: (batch: B) => number
  /** One batch: a training step, or an evaluation. It owns the batch (disposes its tensors). */
  step: (batch: B, index: number) => Promise<BatchResult>
  /** Print the progress line every this many batches, as main.py's `--print-freq`. */
  printFreq: number
  /** Checked after every batch: true ends the epoch there (Ctrl-C). */
  stop?: () => boolean
}

/** The running sums of a training epoch's meters: what a mid-epoch checkpoint keeps so a resumed epoch averages alike. */
export interface MeterSums {
  loss: number
  acc1: number
  acc5: number
  count: number
}

export interface TrainEpochOptions<B> extends EpochOptions<B> {
  /** First batch index: a resumed epoch starts where it stopped (its batches come from there). */
  startBatch?: number
  /** The meters of the batches before `startBatch`. */
  sums?: MeterSums
  /** After every step, e.g. a per-step log. */
  onStep?: (index: number, result: BatchResult) => void
}

export interface TrainEpochResult {
  /** Next batch index (`total` when the epoch is complete). */
  batch: number
  loss: number
  acc1: number
  sums: MeterSums
}

/**
 * Waits one turn of the event loop. Node delivers SIGINT to its handler only there, and a loop whose batches are
 * already prefetched awaits only settled promises (microtasks), so without this Ctrl-C waited for many steps.
 */
export function letSignalsIn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function restored(name: string, fmt: string, sum: number, count: number): AverageMeter {
  const m = new AverageMeter(name, fmt)
  Object.assign(m, { sum, count, avg: count ? sum / count : 0 })
  return m
}

interface Meters {
  batchTime: AverageMeter
  dataTime?: AverageMeter
  losses: AverageMeter
  top1: AverageMeter
  top5: AverageMeter
}

/** The batch loop both epochs share: from batch `start` to `o.total`, or until `o.stop()`; returns the next index. */
async function runBatches<B>(o: EpochOptions<B>, start: number, m: Meters, progress: ProgressMeter, onStep?: (index: number, r: BatchResult) => void): Promise<number> {
  let i = start
  let end = performance.now()
  if (start >= o.total) return i
  for await (const batch of o.batches) {
    m.dataTime?.update((performance.now() - end) / 1000)
    const n = o.size(batch)
    const r = await o.step(batch, i)
    m.losses.update(r.loss, n)
    m.top1.update(r.acc[0] ?? 0, n)
    m.top5.update(r.acc[1] ?? 0, n)
    onStep?.(i, r)
    m.batchTime.update((performance.now() - end) / 1000)
    end = performance.now()
    if (i % o.printFreq === 0) progress.display(i)
    i++
    if (i >= o.total) break
    await letSignalsIn()
    if (o.stop?.()) break
  }
  return i
}

/**
 * imagenet main.py's `train()` for one epoch: the Time/Data/Loss/Acc@1/Acc@5 meters and the `Epoch: [e][ i/n]` lines
 * every `printFreq` batches. Top-k are k = 1 and 5 (`BatchResult.acc`).
 */
export async function trainEpoch<B>(epoch: number, o: TrainEpochOptions<B>): Promise<TrainEpochResult> {
  const start = o.startBatch ?? 0
  const s = start > 0 ? o.sums : undefined
  const m = {
    batchTime: new AverageMeter('Time', ':6.3f'),
    dataTime: new AverageMeter('Data', ':6.3f'),
    losses: restored('Loss', ':.4e', s?.loss ?? 0, s?.count ?? 0),
    top1: restored('Acc@1', ':6.2f', s?.acc1 ?? 0, s?.count ?? 0),
    top5: restored('Acc@5', ':6.2f', s?.acc5 ?? 0, s?.count ?? 0),
  }
  const progress = new ProgressMeter(o.total, [m.batchTime, m.dataTime, m.losses, m.top1, m.top5], `Epoch: [${epoch}]`)
  const batch = await runBatches(o, start, m, progress, o.onStep)
  return { batch, loss: m.losses.avg, acc1: m.top1.avg, sums: { loss: m.losses.sum, acc1: m.top1.sum, acc5: m.top5.sum, count: m.losses.count } }
}

/**
 * imagenet main.py's `validate()`: the `Test: [ i/n]` lines and the ` *   Acc@1 … Acc@5 …` summary. Undefined when
 * `stop` ended it early (the caller validates again later).
 */
export async function evaluateEpoch<B>(o: EpochOptions<B>): Promise<{ loss: number; acc1: number } | undefined> {
  const m = {
    batchTime: new AverageMeter('Time', ':6.3f', Summary.NONE),
    losses: new AverageMeter('Loss', ':.4e', Summary.NONE),
    top1: new AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE),
    top5: new AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE),
  }
  const progress = new ProgressMeter(o.total, [m.batchTime, m.losses, m.top1, m.top5], 'Test: ')
  if (!o.stop?.()) await runBatches(o, 0, m, progress)
  if (o.stop?.()) return undefined
  progress.displaySummary()
  return { loss: m.losses.avg, acc1: m.top1.avg }
}
