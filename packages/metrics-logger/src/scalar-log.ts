import { readFileSync } from 'node:fs'

/** One scalar sample, as written to scalars.csv / scalars.jsonl. */
export interface ScalarRow {
  tag: string
  step: number
  value: number
  wall_time: number
}

export const CSV_HEADER = 'tag,step,value,wall_time'

function csvField(s: string): string {
  return /[",\n]/u.test(s) ? `"${s.replace(/"/gu, '""')}"` : s
}

/** One CSV line (no newline); numbers keep full precision (`String(x)` round-trips doubles). */
export function scalarCsvLine(row: ScalarRow): string {
  return [csvField(row.tag), String(row.step), String(row.value), String(row.wall_time)].join(',')
}

function parseCsvLine(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out
}

/**
 * Reads scalars.csv (header `tag,step,value,wall_time`); errors name the file and line.
 *
 * @example
 * const rows = readScalarsCsv('runs/Nov28_01-02-03_resnet18/scalars.csv')
 */
export function readScalarsCsv(path: string): ScalarRow[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0)
  if (lines[0] !== CSV_HEADER) throw new Error(`${path}:1: expected header '${CSV_HEADER}', got '${lines[0] ?? ''}'`)
  return lines.slice(1).map((line, i) => {
    const [tag, step, value, wallTime] = parseCsvLine(line)
    const row = { tag: tag ?? '', step: Number(step), value: Number(value), wall_time: Number(wallTime) }
    if (!row.tag || Number.isNaN(row.step) || wallTime === undefined) throw new Error(`${path}:${i + 2}: malformed row '${line}'`)
    return row
  })
}

/** Reads scalars.jsonl (one `{tag, step, value, wall_time}` per line); a torn last line (killed writer) is skipped. */
export function readScalarsJsonl(path: string): ScalarRow[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const rows: ScalarRow[] = []
  lines.forEach((line, i) => {
    if (!line) return
    try {
      rows.push(JSON.parse(line) as ScalarRow)
    } catch (e) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.length > 0)) throw new Error(`${path}:${i + 1}: ${(e as Error).message}`)
    }
  })
  return rows
}

/** Groups rows by tag, each series sorted by step: the input of the plot functions. */
export function seriesByTag(rows: readonly ScalarRow[]): Map<string, { step: number; value: number }[]> {
  const out = new Map<string, { step: number; value: number }[]>()
  for (const r of rows) {
    const list = out.get(r.tag) ?? []
    list.push({ step: r.step, value: r.value })
    out.set(r.tag, list)
  }
  for (const list of out.values()) list.sort((a, b) => a.step - b.step)
  return out
}
