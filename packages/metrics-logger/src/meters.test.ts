import { runPython } from '@tinylab/test-utils/torch'
import { describe, expect, it } from 'vitest'
import { AverageMeter, Summary } from './average-meter'
import { ProgressMeter } from './progress-meter'

// The classes below restate pytorch/examples imagenet/main.py (AverageMeter, ProgressMeter, Summary) so the
// printed lines of both implementations can be compared byte for byte.
const PY = `
import json, sys
from enum import Enum
class Summary(Enum):
    NONE = 0; AVERAGE = 1; SUM = 2; COUNT = 3
class AverageMeter(object):
    def __init__(self, name, fmt=':f', summary_type=Summary.AVERAGE):
        self.name = name; self.fmt = fmt; self.summary_type = summary_type; self.reset()
    def reset(self):
        self.val = 0; self.avg = 0; self.sum = 0; self.count = 0
    def update(self, val, n=1):
        self.val = val; self.sum += val * n; self.count += n; self.avg = self.sum / self.count
    def __str__(self):
        fmtstr = '{name} {val' + self.fmt + '} ({avg' + self.fmt + '})'
        return fmtstr.format(**self.__dict__)
    def summary(self):
        if self.summary_type is Summary.NONE: fmtstr = ''
        elif self.summary_type is Summary.AVERAGE: fmtstr = '{name} {avg:.3f}'
        elif self.summary_type is Summary.SUM: fmtstr = '{name} {sum:.3f}'
        elif self.summary_type is Summary.COUNT: fmtstr = '{name} {count:.3f}'
        return fmtstr.format(**self.__dict__)
class ProgressMeter(object):
    def __init__(self, num_batches, meters, prefix=""):
        self.batch_fmtstr = self._get_batch_fmtstr(num_batches); self.meters = meters; self.prefix = prefix
    def display(self, batch):
        entries = [self.prefix + self.batch_fmtstr.format(batch)]
        entries += [str(meter) for meter in self.meters]
        return '\\t'.join(entries)
    def display_summary(self):
        entries = [" *"]
        entries += [meter.summary() for meter in self.meters]
        return ' '.join(entries)
    def _get_batch_fmtstr(self, num_batches):
        num_digits = len(str(num_batches // 1))
        fmt = '{:' + str(num_digits) + 'd}'
        return '[' + fmt + '/' + fmt.format(num_batches) + ']'
steps, num_batches, epoch = json.loads(sys.argv[1])
S = {'none': Summary.NONE, 'average': Summary.AVERAGE, 'sum': Summary.SUM, 'count': Summary.COUNT}
def run(kind):
    if kind == 'train':
        meters = [AverageMeter('Time', ':6.3f'), AverageMeter('Data', ':6.3f'), AverageMeter('Loss', ':.4e'),
                  AverageMeter('Acc@1', ':6.2f'), AverageMeter('Acc@5', ':6.2f')]
        progress = ProgressMeter(num_batches, meters, prefix="Epoch: [{}]".format(epoch))
    else:
        meters = [AverageMeter('Time', ':6.3f', Summary.NONE), AverageMeter('Loss', ':.4e', Summary.NONE),
                  AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE), AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE)]
        progress = ProgressMeter(num_batches, meters, prefix='Test: ')
    lines = []
    for i, (t, d, loss, a1, a5, n) in enumerate(steps):
        vals = [t, d, loss, a1, a5] if kind == 'train' else [t, loss, a1, a5]
        for m, v in zip(meters, vals): m.update(v, n)
        lines.append(progress.display(i))
    lines.append(progress.display_summary())
    return lines
print(json.dumps({'train': run('train'), 'val': run('val')}))
`

describe('AverageMeter / ProgressMeter print like imagenet main.py', () => {
  it('train and validation lines and the summary match Python', async () => {
    let s = 7
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31)
    const steps = Array.from({ length: 25 }, () => [rand() * 0.5, rand() * 0.05, 5.3 - rand() * 3, rand() * 100, rand() * 100, 1 + Math.floor(rand() * 256)])
    const numBatches = 391
    const epoch = 3
    const expected = JSON.parse(await runPython(PY, [JSON.stringify([steps, numBatches, epoch])])) as { train: string[]; val: string[] }

    const lines: string[] = []
    const print = (line: string) => lines.push(line)
    const train = [new AverageMeter('Time', ':6.3f'), new AverageMeter('Data', ':6.3f'), new AverageMeter('Loss', ':.4e'),
      new AverageMeter('Acc@1', ':6.2f'), new AverageMeter('Acc@5', ':6.2f')]
    const progress = new ProgressMeter(numBatches, train, `Epoch: [${epoch}]`, print)
    steps.forEach(([t, d, loss, a1, a5, n], i) => {
      ;[t, d, loss, a1, a5].forEach((v, j) => train[j]?.update(v ?? 0, n))
      progress.display(i)
    })
    progress.displaySummary()
    expect(lines).toEqual(expected.train)
    expect(lines[10]).toMatch(/^Epoch: \[3\]\[ 10\/391\]\tTime +\d\.\d{3} \( *\d\.\d{3}\)\tData/)

    const val = [new AverageMeter('Time', ':6.3f', Summary.NONE), new AverageMeter('Loss', ':.4e', Summary.NONE),
      new AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE), new AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE)]
    const valProgress = new ProgressMeter(numBatches, val, 'Test: ')
    const valLines = steps.map(([t, , loss, a1, a5, n], i) => {
      ;[t, loss, a1, a5].forEach((v, j) => val[j]?.update(v ?? 0, n))
      return valProgress.format(i)
    })
    valLines.push(valProgress.formatSummary())
    expect(valLines).toEqual(expected.val)
    expect(valLines.at(-1)).toMatch(/^ \* {3}Acc@1 \d+\.\d{3} Acc@5 \d+\.\d{3}$/)
  })
})
