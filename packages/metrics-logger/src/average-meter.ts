import { pyFormat } from './python-format'

/** What a meter prints in `ProgressMeter.displaySummary()` (imagenet main.py `Summary`). */
export const Summary = { NONE: 'none', AVERAGE: 'average', SUM: 'sum', COUNT: 'count' } as const
export type SummaryType = (typeof Summary)[keyof typeof Summary]

/**
 * Computes and stores the average and current value: imagenet `main.py`'s `AverageMeter`, with the same printed format.
 * `fmt` is a Python format spec with its leading colon (`':6.3f'`, `':.4e'`).
 *
 * @example
 * const batchTime = new AverageMeter('Time', ':6.3f')
 * batchTime.update(0.037); batchTime.update(0.255)
 * String(batchTime)     // 'Time  0.255 ( 0.146)'
 * batchTime.summary()   // 'Time 0.146'
 */
export class AverageMeter {
  val = 0
  avg = 0
  sum = 0
  count = 0

  constructor(
    readonly name: string,
    readonly fmt = ':f',
    readonly summaryType: SummaryType = Summary.AVERAGE,
  ) {}

  reset(): void {
    this.val = 0
    this.avg = 0
    this.sum = 0
    this.count = 0
  }

  /** Records `val` as the mean of `n` samples (main.py passes the batch size as `n`). */
  update(val: number, n = 1): void {
    this.val = val
    this.sum += val * n
    this.count += n
    this.avg = this.sum / this.count
  }

  toString(): string {
    return pyFormat(`{name} {val${this.fmt}} ({avg${this.fmt}})`, { name: this.name, val: this.val, avg: this.avg })
  }

  summary(): string {
    const fields = { name: this.name, avg: this.avg, sum: this.sum, count: this.count }
    switch (this.summaryType) {
      case Summary.NONE:
        return ''
      case Summary.AVERAGE:
        return pyFormat('{name} {avg:.3f}', fields)
      case Summary.SUM:
        return pyFormat('{name} {sum:.3f}', fields)
      case Summary.COUNT:
        return pyFormat('{name} {count:.3f}', fields)
    }
  }
}
