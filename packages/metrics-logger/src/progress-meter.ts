import type { AverageMeter } from './average-meter'
import { formatPython } from './python-format'

/**
 * imagenet `main.py`'s `ProgressMeter`: one tab-separated line per displayed batch, and the ` *   Acc@1 … Acc@5 …` summary.
 * `display`/`displaySummary` print through `print` (default `console.log`); `format`/`formatSummary` return the line.
 *
 * @example
 * const meters = [new AverageMeter('Time', ':6.3f'), new AverageMeter('Loss', ':.4e')]
 * const progress = new ProgressMeter(391, meters, 'Epoch: [0]')
 * meters[0].update(0.146); meters[1].update(5.3)
 * progress.format(10)   // 'Epoch: [0][ 10/391]\tTime  0.146 ( 0.146)\tLoss 5.3000e+00 (5.3000e+00)'
 */
export class ProgressMeter {
  private readonly numDigits: number

  constructor(
    readonly numBatches: number,
    readonly meters: readonly AverageMeter[],
    readonly prefix = '',
    private readonly print: (line: string) => void = (line) => console.log(line),
  ) {
    // main.py: num_digits = len(str(num_batches // 1)); fmt = '{:' + str(num_digits) + 'd}'
    this.numDigits = String(Math.floor(numBatches)).length
  }

  format(batch: number): string {
    const fmt = `${this.numDigits}d`
    const batchStr = `[${formatPython(batch, fmt)}/${formatPython(Math.floor(this.numBatches), fmt)}]`
    return [this.prefix + batchStr, ...this.meters.map(String)].join('\t')
  }

  formatSummary(): string {
    return [' *', ...this.meters.map((m) => m.summary())].join(' ')
  }

  display(batch: number): void {
    this.print(this.format(batch))
  }

  displaySummary(): void {
    this.print(this.formatSummary())
  }
}
