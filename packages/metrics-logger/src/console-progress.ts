/** Where progress goes: a stream with an optional `isTTY` (process.stderr by default). */
export interface ProgressStream {
  write(s: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface ConsoleProgressOptions {
  total?: number
  label?: string
  stream?: ProgressStream
  /** Non-TTY: print a plain line at most this often (default 10 s), plus the last one. TTY: redraw at most 10×/s. */
  intervalMs?: number
  /** Clock in ms (tests pin it). */
  now?: () => number
}

/** `H:MM:SS` or `M:SS`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

/**
 * Progress for long loops: step/total, rate and ETA. On a TTY one line redraws in place; otherwise (CI logs, files)
 * plain lines are printed every `intervalMs`, so logs stay readable.
 *
 * @example
 * const progress = new ConsoleProgress({ total: 2983, label: 'epoch 1' })
 * for (let i = 0; i < 2983; i++) { step(); progress.tick(1, `loss ${loss.toFixed(2)}`) }
 * progress.done()   // "epoch 1 2983/2983 100.0% | 41.2 it/s | elapsed 1:12 | ETA 0:00 | loss 5.31"
 */
export class ConsoleProgress {
  private count = 0
  private readonly start: number
  private lastDraw = -Infinity
  private drawnCount = -1
  private readonly stream: ProgressStream
  private readonly tty: boolean
  private readonly intervalMs: number
  private readonly now: () => number

  constructor(private readonly options: ConsoleProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr
    this.tty = this.stream.isTTY === true
    this.now = options.now ?? (() => performance.now())
    this.intervalMs = options.intervalMs ?? (this.tty ? 100 : 10_000)
    this.start = this.now()
  }

  /** The status line for the current state. */
  line(extra = ''): string {
    const elapsed = (this.now() - this.start) / 1000
    const rate = elapsed > 0 ? this.count / elapsed : 0
    const total = this.options.total
    const parts = [`${this.options.label ? `${this.options.label} ` : ''}${this.count}${total ? `/${total} ${((100 * this.count) / total).toFixed(1)}%` : ''}`]
    parts.push(rate >= 1 ? `${rate.toFixed(1)} it/s` : `${rate > 0 ? (1 / rate).toFixed(2) : '?'} s/it`)
    parts.push(`elapsed ${formatDuration(elapsed)}`)
    if (total) parts.push(`ETA ${rate > 0 ? formatDuration((total - this.count) / rate) : '?'}`)
    if (extra) parts.push(extra)
    return parts.join(' | ')
  }

  tick(n = 1, extra = ''): void {
    this.count += n
    const t = this.now()
    if (t - this.lastDraw < this.intervalMs && this.count !== this.options.total) return
    this.lastDraw = t
    this.draw(this.line(extra))
  }

  private draw(line: string): void {
    this.drawnCount = this.count
    if (this.tty) {
      const width = this.stream.columns ?? 120
      this.stream.write(`\r${line.length > width - 1 ? line.slice(0, width - 1) : line}\x1b[K`)
    } else this.stream.write(`${line}\n`)
  }

  /** Prints the final state (unless the last line already showed it and `extra` is empty) and ends the line. */
  done(extra = ''): void {
    if (this.tty) {
      this.draw(this.line(extra))
      this.stream.write('\n')
    } else if (extra || this.drawnCount !== this.count) this.draw(this.line(extra))
  }
}
