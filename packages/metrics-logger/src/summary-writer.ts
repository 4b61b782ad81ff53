import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { type HParamValue, type SummaryValue, encodeEvent, histogramValue, hparamsValues, scalarValue, textValue } from './event'
import { eventFileName, runDirName } from './run-dir'
import { CSV_HEADER, scalarCsvLine } from './scalar-log'
import { encodeTfRecord } from './tfrecord'

export interface SummaryWriterOptions {
  /** Parent folder of runs (default 'runs', like torch); the run folder is `<logdir>/<Mon><dd>_<HH-MM-SS>_<suffix>`. */
  logdir?: string
  /** The run folder's suffix; the reference uses the arch (`Nov28_01-02-03_resnet18`). */
  suffix?: string
  /** Use exactly this folder instead of a generated name. */
  runDir?: string
  /** Also write scalars.csv and scalars.jsonl beside the event file (default true). */
  tables?: boolean
  /** Flush (and fsync) pending events when the process exits normally (default true). */
  flushOnExit?: boolean
  /** Clock for wall times, in seconds (tests pin it). */
  now?: () => number
}

/**
 * TensorBoard logging without TensorFlow: writes `events.out.tfevents.*` (TFRecord-framed Event protos) plus the same
 * scalars as CSV and JSONL. Events are buffered and written on `flush()` (call it every epoch), on `close()`, and on
 * normal process exit. `handleSignals()` additionally flushes on SIGINT/SIGTERM before exiting.
 *
 * @example
 * const writer = new SummaryWriter({ logdir: 'runs', suffix: 'resnet18' })
 * writer.addScalar('scalar/train_loss', 5.12, 0)
 * writer.addScalar('scalar/val_acc', 1.5, 0)
 * writer.flush()                 // runs/Nov28_01-02-03_resnet18/events.out.tfevents.…, scalars.csv, scalars.jsonl
 * writer.close()
 */
export class SummaryWriter {
  readonly runDir: string
  readonly eventFile: string
  private fd: number | undefined
  private csvFd: number | undefined
  private jsonlFd: number | undefined
  private pending: Uint8Array[] = []
  private readonly now: () => number
  private readonly onExit = () => this.flush()
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = []

  constructor(options: SummaryWriterOptions = {}) {
    this.now = options.now ?? (() => Date.now() / 1000)
    this.runDir = options.runDir ?? join(options.logdir ?? 'runs', runDirName(options.suffix ?? ''))
    mkdirSync(this.runDir, { recursive: true })
    const start = this.now()
    this.eventFile = join(this.runDir, eventFileName(start))
    this.fd = openSync(this.eventFile, 'a')
    if (options.tables ?? true) {
      this.csvFd = openSync(join(this.runDir, 'scalars.csv'), 'a')
      this.jsonlFd = openSync(join(this.runDir, 'scalars.jsonl'), 'a')
      if (fstatSync(this.csvFd).size === 0) writeSync(this.csvFd, `${CSV_HEADER}\n`)
    }
    // Every event file starts with the file_version event (tensorboard/summary/writer/event_file_writer.py).
    this.pending.push(encodeTfRecord(encodeEvent({ wallTime: start, fileVersion: 'brain.Event:2' })))
    this.flush()
    if (options.flushOnExit ?? true) process.on('exit', this.onExit)
  }

  private add(values: SummaryValue[], step: number, wallTime = this.now()): void {
    if (this.fd === undefined) throw new Error(`SummaryWriter(${this.runDir}): already closed`)
    this.pending.push(encodeTfRecord(encodeEvent({ wallTime, step, values })))
  }

  /** A scalar (`add_scalar`); also appended to scalars.csv / scalars.jsonl immediately. */
  addScalar(tag: string, value: number, step: number, wallTime = this.now()): void {
    if (!Number.isInteger(step)) throw new Error(`addScalar('${tag}'): step must be an integer, got ${step}`)
    this.add([scalarValue(tag, value)], step, wallTime)
    const row = { tag, step, value, wall_time: wallTime }
    if (this.csvFd !== undefined) writeSync(this.csvFd, `${scalarCsvLine(row)}\n`)
    if (this.jsonlFd !== undefined) writeSync(this.jsonlFd, `${JSON.stringify(row)}\n`)
  }

  /** Text (`add_text`), shown in TensorBoard's Text tab under `<tag>/text_summary`. Markdown is rendered. */
  addText(tag: string, text: string, step = 0): void {
    this.add([textValue(tag, text)], step)
  }

  /**
   * The run's command-line flags where reports and TensorBoard look for them: `hparams.json` in the run folder (flag
   * names in camelCase, then `extra`, e.g. values derived at startup) and the text `args`, a flag | value table.
   */
  addFlags(flags: Readonly<Record<string, unknown>>, extra: Readonly<Record<string, unknown>> = {}): void {
    const camel = Object.entries(flags).map(([k, v]) => [k.replace(/_(\w)/gu, (_m, c: string) => c.toUpperCase()), v] as const)
    writeFileSync(join(this.runDir, 'hparams.json'), JSON.stringify({ ...Object.fromEntries(camel), ...extra }, null, 2) + '\n')
    this.addText('args', ['| flag | value |', '|---|---|', ...camel.map(([k, v]) => `| ${k} | ${JSON.stringify(v)} |`)].join('\n'))
  }

  /** A histogram of `values` (`add_histogram`) with `bins` equal-width buckets. */
  addHistogram(tag: string, values: ArrayLike<number>, step: number, bins = 30): void {
    this.add([histogramValue(tag, values, bins)], step)
  }

  /**
   * Hyper-parameters for TensorBoard's HParams tab (`add_hparams`), written into this run; `metrics` are also logged
   * as scalars at `step` so the table has values.
   */
  addHparams(hparams: Record<string, HParamValue>, metrics: Record<string, number>, step = 0): void {
    this.add(hparamsValues(hparams, Object.keys(metrics), this.now()), 0)
    for (const [tag, v] of Object.entries(metrics)) this.addScalar(tag, v, step)
  }

  /** Writes buffered events and fsyncs the files (call once per epoch). */
  flush(): void {
    if (this.fd === undefined) return
    for (const record of this.pending) writeSync(this.fd, record)
    this.pending = []
    for (const fd of [this.fd, this.csvFd, this.jsonlFd]) if (fd !== undefined) fsyncSync(fd)
  }

  /**
   * Opt-in: on SIGINT/SIGTERM flush, then exit with 128 + signal number like an unhandled signal. Skip this when
   * the caller handles Ctrl-C itself (e.g. to finish the step and save a checkpoint) and calls `close()`.
   */
  handleSignals(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): void {
    for (const signal of signals) {
      const handler = () => {
        this.close()
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
      }
      process.once(signal, handler)
      this.signalHandlers.push([signal, handler])
    }
  }

  close(): void {
    if (this.fd === undefined) return
    this.flush()
    for (const fd of [this.fd, this.csvFd, this.jsonlFd]) if (fd !== undefined) closeSync(fd)
    this.fd = this.csvFd = this.jsonlFd = undefined
    process.off('exit', this.onExit)
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler)
  }
}
