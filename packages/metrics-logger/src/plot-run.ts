import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { lineChartPng } from './plot-png'
import { lineChartSvg } from './plot-svg'
import { readScalarsCsv, readScalarsJsonl, seriesByTag } from './scalar-log'

/**
 * Groups a run's tags into charts: `scalar/train_loss` and `scalar/val_loss` share the chart `loss`, `…_acc` the chart
 * `acc`; any other tag gets a chart of its own (named after its last path part).
 */
export function chartGroups(tags: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>()
  for (const tag of tags) {
    const last = tag.split('/').pop() ?? tag
    const name = last.replace(/^(train|val|valid|test)_/u, '') || last
    groups.set(name, [...(groups.get(name) ?? []), tag])
  }
  return groups
}

/**
 * Renders one PNG and one SVG per chart group of a run folder written by `SummaryWriter` (reads scalars.jsonl, or
 * scalars.csv), e.g. `loss.png` with train and val loss: the curves a report embeds. Returns the written paths.
 *
 * @example
 * plotRun('runs/Nov28_01-02-03_resnet18')  // ['runs/…/loss.png', 'runs/…/loss.svg', 'runs/…/acc.png', 'runs/…/acc.svg']
 */
export function plotRun(runDir: string, options: { outDir?: string; xLabel?: string } = {}): string[] {
  const jsonl = join(runDir, 'scalars.jsonl')
  const csv = join(runDir, 'scalars.csv')
  if (!existsSync(jsonl) && !existsSync(csv)) throw new Error(`plotRun: ${runDir} has no scalars.jsonl or scalars.csv (was it written by SummaryWriter?)`)
  const byTag = seriesByTag(existsSync(jsonl) ? readScalarsJsonl(jsonl) : readScalarsCsv(csv))
  const outDir = options.outDir ?? runDir
  const written: string[] = []
  for (const [name, tags] of chartGroups([...byTag.keys()])) {
    const spec = {
      title: name,
      xLabel: options.xLabel ?? 'epoch',
      yLabel: name,
      series: tags.map((t) => ({ name: t, points: (byTag.get(t) ?? []).map((p) => ({ x: p.step, y: p.value })) })),
    }
    const png = join(outDir, `${name}.png`)
    const svg = join(outDir, `${name}.svg`)
    writeFileSync(png, lineChartPng(spec))
    writeFileSync(svg, lineChartSvg(spec))
    written.push(png, svg)
  }
  return written
}
