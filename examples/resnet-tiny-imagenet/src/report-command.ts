/**
 * `pnpm resnet report --run <dir>`: the experiment report (Markdown + PNG curves) from a run folder written by
 * `pnpm resnet train`: layer table, hyper-parameters, per-epoch losses/accuracies with curves, final and best accuracy,
 * checkpoints with sizes, and the device-speed table when `devices.md` / `devices.csv` sits in the run folder.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { plotRun, readScalarsJsonl, seriesByTag } from '@tinylab/metrics-logger'
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

function fmt(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits)
}

function sizeOf(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`
}

/** The per-epoch table and headline numbers from scalars.jsonl. */
function epochRows(runDir: string): { rows: string[]; last?: number; best?: number; bestEpoch?: number; epochs: number } {
  const byTag = seriesByTag(readScalarsJsonl(path.join(runDir, 'scalars.jsonl')))
  const at = (tag: string): Map<number, number> => new Map((byTag.get(tag) ?? []).map((p) => [p.step, p.value]))
  const [tl, ta, vl, va, lr] = ['scalar/train_loss', 'scalar/train_acc', 'scalar/val_loss', 'scalar/val_acc', 'scalar/lr'].map(at) as Map<number, number>[]
  const epochs = [...(va as Map<number, number>).keys()].sort((a, b) => a - b)
  const rows = epochs.map((e) => `| ${e} | ${fmt(tl?.get(e), 4)} | ${fmt(ta?.get(e), 2)} | ${fmt(vl?.get(e), 4)} | ${fmt(va?.get(e), 2)} | ${fmt(lr?.get(e), 5)} |`)
  let best: number | undefined
  let bestEpoch: number | undefined
  for (const e of epochs) {
    const v = va?.get(e) as number
    if (best === undefined || v > best) [best, bestEpoch] = [v, e]
  }
  const lastEpoch = epochs[epochs.length - 1]
  return { rows, last: lastEpoch === undefined ? undefined : va?.get(lastEpoch), best, bestEpoch, epochs: epochs.length }
}

/** Builds the report text; writes the PNG curves into the run folder. */
export async function writeReport(runDir: string, title?: string): Promise<string> {
  if (!existsSync(runDir)) throw new Error(`${runDir}: run folder not found (--run)`)
  if (!existsSync(path.join(runDir, 'scalars.jsonl'))) throw new Error(`${runDir}: no scalars.jsonl (is it a folder written by 'pnpm resnet train'?)`)
  const hpFile = path.join(runDir, 'hparams.json')
  const hp: Hparams = existsSync(hpFile) ? (JSON.parse(readFileSync(hpFile, 'utf8')) as Hparams) : {}
  const out: string[] = [`# ${title ?? `ResNet on Tiny-ImageNet: ${path.basename(path.resolve(runDir))}`}`, '']

  const e = epochRows(runDir)
  out.push('## Result', '')
  out.push(`- epochs logged: ${e.epochs}`)
  out.push(`- final top-1 val accuracy: **${fmt(e.last)}%**`)
  out.push(`- best top-1 val accuracy: **${fmt(e.best)}%** (epoch ${e.bestEpoch ?? '–'})`)
  if (Array.isArray(hp.classes)) out.push(`- classes: ${hp.classes.length} (chance ${fmt(100 / hp.classes.length, 1)}%)`)
  out.push('')

  const pngs = plotRun(runDir).filter((p) => p.endsWith('.png'))
  out.push('## Curves', '')
  for (const p of pngs) out.push(`![${path.basename(p, '.png')}](${path.basename(p)})`, '')

  out.push('## Per epoch', '', '| epoch | train loss | train acc@1 | val loss | val acc@1 | lr |', '|---:|---:|---:|---:|---:|---:|', ...e.rows, '')

  const torchFile = path.join(runDir, 'pytorch.jsonl')
  if (existsSync(torchFile)) {
    const torch = readFileSync(torchFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { epoch: number; train_loss: number; train_acc: number; val_loss: number; val_acc: number; seconds: number })
    const tBest = Math.max(...torch.map((r) => r.val_acc))
    out.push('## PyTorch, same recipe (reference/train_subset.py)', '')
    out.push(`- final top-1 val accuracy: **${fmt(torch[torch.length - 1]?.val_acc)}%**, best **${fmt(tBest)}%**; TinyLab − PyTorch (best): ${fmt((e.best ?? NaN) - tBest, 2)} points`, '')
    out.push('| epoch | train loss | train acc@1 | val loss | val acc@1 | s/epoch |', '|---:|---:|---:|---:|---:|---:|')
    for (const r of torch) out.push(`| ${r.epoch} | ${fmt(r.train_loss, 4)} | ${fmt(r.train_acc, 2)} | ${fmt(r.val_loss, 4)} | ${fmt(r.val_acc, 2)} | ${fmt(r.seconds, 0)} |`)
    out.push('')
  }

  out.push('## Hyper-parameters', '', '| flag | value |', '|---|---|')
  for (const [k, v] of Object.entries(hp)) if (k !== 'classes') out.push(`| ${k} | \`${JSON.stringify(v)}\` |`)
  if (Array.isArray(hp.classes)) out.push(`| classes | ${hp.classes.length > 20 ? `${hp.classes.length} wnids` : hp.classes.join(' ')} |`)
  out.push('')

  const dirs = [...new Set([runDir, typeof hp.saveDir === 'string' ? hp.saveDir : runDir])]
  const ckpts = dirs.flatMap((d) =>
    existsSync(d) ? readdirSync(d).filter((f) => /\.(safetensors|pth\.tar|pth)$/u.test(f)).map((f) => ({ f: path.join(d, f), size: statSync(path.join(d, f)).size })) : [],
  )
  out.push('## Checkpoints', '')
  if (ckpts.length === 0) out.push('(none in the run folder)')
  else out.push('| file | size |', '|---|---:|', ...ckpts.sort((a, b) => a.f.localeCompare(b.f)).map((c) => `| ${path.basename(c.f)} | ${sizeOf(c.size)} |`))
  out.push('')

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
