/**
 * Markdown tables of a finished run, built from what the run folder already holds (scalars.jsonl, checkpoint files):
 * the pieces an experiment report is assembled from. Kept beside the scalar log because they read its rows and
 * nothing else, so every example's report renders epochs and files the same way.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { type ScalarRow, seriesByTag } from './scalar-log'

/** One column of the per-epoch table: a scalar tag, its heading and its decimals. */
export interface EpochColumn {
  tag: string
  heading: string
  digits: number
}

/** The per-epoch table and the headline values of its key tag. */
export interface EpochTable {
  /** Header, alignment row, one row per epoch. */
  lines: string[]
  epochs: number
  last?: number
  best?: number
  bestEpoch?: number
}

/** A table cell: fixed decimals, or '–' for a value that was not logged. */
export function formatCell(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits)
}

/** 1.5 KiB / 42.7 MiB. */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`
}

/**
 * One row per epoch (step) that logged `keyTag`, one column per tag; `last`/`best` are `keyTag`'s final and highest
 * values.
 *
 * ```ts
 * const t = epochTable(readScalarsJsonl('runs/x/scalars.jsonl'), [{ tag: 'scalar/val_acc', heading: 'val acc@1', digits: 2 }], 'scalar/val_acc')
 * // t.lines: ['| epoch | val acc@1 |', '|---:|---:|', '| 0 | 12.50 |', …]
 * ```
 */
export function epochTable(rows: readonly ScalarRow[], columns: readonly EpochColumn[], keyTag: string): EpochTable {
  const byTag = seriesByTag(rows)
  const at = (tag: string): Map<number, number> => new Map((byTag.get(tag) ?? []).map((p) => [p.step, p.value]))
  const values = columns.map((c) => at(c.tag))
  const key = at(keyTag)
  const epochs = [...key.keys()].sort((a, b) => a - b)
  const lines = [
    `| epoch | ${columns.map((c) => c.heading).join(' | ')} |`,
    `|---:|${columns.map(() => '---:|').join('')}`,
    ...epochs.map((e) => `| ${e} | ${columns.map((c, i) => formatCell(values[i]?.get(e), c.digits)).join(' | ')} |`),
  ]
  let best: number | undefined
  let bestEpoch: number | undefined
  for (const e of epochs) {
    const v = key.get(e) as number
    if (best === undefined || v > best) [best, bestEpoch] = [v, e]
  }
  const lastEpoch = epochs[epochs.length - 1]
  return { lines, epochs: epochs.length, last: lastEpoch === undefined ? undefined : key.get(lastEpoch), best, bestEpoch }
}

/** The files of `dirs` (each listed once, missing ones skipped) whose names match `pattern`, as a `| file | size |` table sorted by path; [] when there are none. */
export function fileSizeTable(dirs: readonly string[], pattern: RegExp): string[] {
  const files = [...new Set(dirs)].flatMap((d) =>
    existsSync(d) ? readdirSync(d).filter((f) => pattern.test(f)).map((f) => ({ f: path.join(d, f), size: statSync(path.join(d, f)).size })) : [],
  )
  if (files.length === 0) return []
  return ['| file | size |', '|---|---:|', ...files.sort((a, b) => a.f.localeCompare(b.f)).map((c) => `| ${path.basename(c.f)} | ${formatBytes(c.size)} |`)]
}
