/**
 * `pnpm resnet report --run <dir>`: the experiment report (Markdown + PNG curves) from a run folder written by
 * `pnpm resnet train`: layer table, hyper-parameters, per-epoch losses/accuracies with curves, final and best accuracy,
 * checkpoints with sizes, and the device-speed table when `devices.md` / `devices.csv` sits in the run folder.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { epochTable, fileSizeTable, formatCell as fmt, plotRun, readScalarsJsonl, type EpochColumn } from '@tinylab/metrics-logger'
import { initBackend } from '@tinylab/multi-device'
import { createResNet, formatSummary, summary, type ResNetStem } from '@tinylab/resnet-models'
import { flagTable, helpText, parseFlags, UsageError } from '@tinylab/cli-flags'
import type { Subcommand } from './subcommand'

const FLAGS = flagTable({
  run: { names: ['--run'], type: 'string', metavar: 'DIR', defaultHelp: 'required', help: 'run folder written by pnpm resnet train' },
  title: { names: ['--title'], type: 'string', metavar: 'TEXT', defaultHelp: 'ResNet on Tiny-ImageNet: <run folder name>', help: 'report heading' },
  help: { names: ['-h', '--help'], type: 'bool', help: 'show this help' },
})

interface Hparams {
  arch?: string
  stem?: ResNetStem
  numClasses?: number
  classes?: string[]
  saveDir?: string
  [key: string]: unknown
}

/** The reference run's four metrics per epoch, as TensorBoard scalars (`scalar/<name>`) and in pytorch.jsonl (`<name>`). */
const METRICS = [['train_loss', 'train loss', 4], ['train_acc', 'train acc@1', 2], ['val_loss', 'val loss', 4], ['val_acc', 'val acc@1', 2]] as const
const columns = (prefix: string, last: EpochColumn): EpochColumn[] => [...METRICS.map(([name, heading, digits]) => ({ tag: prefix + name, heading, digits })), last]

/** Builds the report text; writes the PNG curves into the run folder. */
export async function writeReport(runDir: string, title?: string): Promise<string> {
  if (!existsSync(runDir)) throw new Error(`${runDir}: run folder not found (--run)`)
  if (!existsSync(path.join(runDir, 'scalars.jsonl'))) throw new Error(`${runDir}: no scalars.jsonl (is it a folder written by 'pnpm resnet train'?)`)
  const hpFile = path.join(runDir, 'hparams.json')
  const hp: Hparams = existsSync(hpFile) ? (JSON.parse(readFileSync(hpFile, 'utf8')) as Hparams) : {}
  const out: string[] = [`# ${title ?? `ResNet on Tiny-ImageNet: ${path.basename(path.resolve(runDir))}`}`, '']

  const e = epochTable(readScalarsJsonl(path.join(runDir, 'scalars.jsonl')), columns('scalar/', { tag: 'scalar/lr', heading: 'lr', digits: 5 }), 'scalar/val_acc')
  out.push('## Result', '')
  out.push(`- epochs logged: ${e.epochs}`)
  out.push(`- final top-1 val accuracy: **${fmt(e.last)}%**`)
  out.push(`- best top-1 val accuracy: **${fmt(e.best)}%** (epoch ${e.bestEpoch ?? '–'})`)
  if (Array.isArray(hp.classes)) out.push(`- classes: ${hp.classes.length} (chance ${fmt(100 / hp.classes.length, 1)}%)`)
  out.push('')

  const pngs = plotRun(runDir).filter((p) => p.endsWith('.png'))
  out.push('## Curves', '')
  for (const p of pngs) out.push(`![${path.basename(p, '.png')}](${path.basename(p)})`, '')

  out.push('## Per epoch', '', ...e.lines, '')

  const torchFile = path.join(runDir, 'pytorch.jsonl')
  if (existsSync(torchFile)) {
    const rows = readFileSync(torchFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        const r = JSON.parse(l) as Record<string, number>
        return Object.entries(r).map(([tag, value]) => ({ tag, value, step: r.epoch as number, wall_time: 0 }))
      })
    const t = epochTable(rows, columns('', { tag: 'seconds', heading: 's/epoch', digits: 0 }), 'val_acc')
    out.push('## PyTorch, same recipe (reference/train_subset.py)', '')
    out.push(`- final top-1 val accuracy: **${fmt(t.last)}%**, best **${fmt(t.best)}%**; TinyLab − PyTorch (best): ${fmt((e.best ?? NaN) - (t.best ?? NaN), 2)} points`, '')
    out.push(...t.lines, '')
  }

  out.push('## Hyper-parameters', '', '| flag | value |', '|---|---|')
  for (const [k, v] of Object.entries(hp)) if (k !== 'classes') out.push(`| ${k} | \`${JSON.stringify(v)}\` |`)
  if (Array.isArray(hp.classes)) out.push(`| classes | ${hp.classes.length > 20 ? `${hp.classes.length} wnids` : hp.classes.join(' ')} |`)
  out.push('')

  const ckpts = fileSizeTable([runDir, typeof hp.saveDir === 'string' ? hp.saveDir : runDir], /\.(safetensors|pth\.tar|pth)$/u)
  out.push('## Checkpoints', '', ...(ckpts.length ? ckpts : ['(none in the run folder)']), '')

  for (const name of ['devices.md', 'devices.csv']) {
    const file = path.join(runDir, name)
    if (!existsSync(file)) continue
    out.push('## Training speed by device', '')
    const text = readFileSync(file, 'utf8').trim()
    out.push(name.endsWith('.md') ? text : ['```', text, '```'].join('\n'), '')
    break
  }

  if (hp.arch) {
    await initBackend({ device: 'cpu' })
    const model = createResNet(hp.arch, { numClasses: hp.numClasses ?? 200, stem: hp.stem ?? 'imagenet', seed: 0 })
    try {
      out.push(`## Layers (${hp.arch}, stem ${hp.stem ?? 'imagenet'}, input 3x64x64, torchsummary format)`, '', '```', formatSummary(summary(model, [3, 64, 64])).trimEnd(), '```', '')
    } finally {
      model.dispose()
    }
  }
  const text = out.join('\n')
  writeFileSync(path.join(runDir, 'report.md'), text)
  return text
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS)
  if (values.help) {
    console.log(helpText('pnpm resnet report --run DIR [--title TEXT]', 'Write DIR/report.md and its PNG curves from a training run folder.', FLAGS))
    return 0
  }
  if (values.run === undefined) throw new UsageError('the following arguments are required: --run')
  await writeReport(values.run, values.title)
  console.log(`wrote ${path.join(values.run, 'report.md')}`)
  return 0
}

export const reportCommand: Subcommand = { describe: 'write report.md (+ PNG curves) for a run folder', run }
