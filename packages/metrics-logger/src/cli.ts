#!/usr/bin/env node
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { lineChartPng } from './plot-png'
import { lineChartSvg } from './plot-svg'
import { readScalarsCsv, readScalarsJsonl, seriesByTag } from './scalar-log'

const HELP = `usage: tinylab-plot (--csv FILE | --jsonl FILE) --out FILE.png|FILE.svg [options]

Plots scalars logged by @tinylab/metrics-logger's SummaryWriter (scalars.csv / scalars.jsonl) as a line chart.

options:
  --csv FILE       scalars.csv to read
  --jsonl FILE     scalars.jsonl to read
  --out FILE       output image; .png (pure JS raster) or .svg (default: curves.png)
  --tags A,B       tags to plot, comma-separated (default: all tags in the file)
  --title TEXT     chart title (default: none)
  --xlabel TEXT    x-axis label (default: step)
  --ylabel TEXT    y-axis label (default: none)
  --width N        image width in px (default: 800)
  --height N       image height in px (default: 500)
  -h, --help       show this help`

function fail(message: string): never {
  process.stderr.write(`tinylab-plot: error: ${message}\n`)
  process.exit(2)
}

function main(argv: string[]): void {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        csv: { type: 'string' }, jsonl: { type: 'string' }, out: { type: 'string', default: 'curves.png' }, tags: { type: 'string' },
        title: { type: 'string' }, xlabel: { type: 'string', default: 'step' }, ylabel: { type: 'string' },
        width: { type: 'string', default: '800' }, height: { type: 'string', default: '500' }, help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (e) {
    fail((e as Error).message)
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return
  }
  // `pnpm --filter … plot` runs in the package folder; resolve user paths against where pnpm was started.
  const cwd = process.env.INIT_CWD ?? process.cwd()
  if (!values.csv === !values.jsonl) fail('give exactly one of --csv FILE or --jsonl FILE')
  const rows = values.csv ? readScalarsCsv(resolve(cwd, values.csv)) : readScalarsJsonl(resolve(cwd, values.jsonl as string))
  const byTag = seriesByTag(rows)
  const tags = values.tags ? values.tags.split(',') : [...byTag.keys()]
  for (const t of tags) if (!byTag.has(t)) fail(`--tags: '${t}' is not in the file (tags: ${[...byTag.keys()].join(', ')})`)
  const width = Number(values.width)
  const height = Number(values.height)
  if (!(width >= 100 && height >= 100)) fail(`--width/--height must be numbers >= 100, got ${values.width}x${values.height}`)
  const spec = {
    series: tags.map((t) => ({ name: t, points: (byTag.get(t) ?? []).map((p) => ({ x: p.step, y: p.value })) })),
    title: values.title, xLabel: values.xlabel, yLabel: values.ylabel, width, height,
  }
  const out = resolve(cwd, values.out as string)
  if (out.endsWith('.svg')) writeFileSync(out, lineChartSvg(spec))
  else if (out.endsWith('.png')) writeFileSync(out, lineChartPng(spec))
  else fail(`--out must end in .png or .svg, got ${values.out}`)
  process.stdout.write(`wrote ${out} (${tags.length} series, ${rows.length} rows)\n`)
}

main(process.argv.slice(2))
