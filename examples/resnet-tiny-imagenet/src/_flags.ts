/** Flag parsing helpers shared by the subcommands: argparse-style messages (`argument --lr: invalid float value: 'x'`). */
import { UsageError } from './usage-error'

export function positiveInt(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`argument ${flag}: invalid positive int value: '${raw}'`)
  return Number(raw)
}

export function nonNegativeInt(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`argument ${flag}: invalid non-negative int value: '${raw}'`)
  return Number(raw)
}

export function nonNegativeFloat(flag: string, raw: string): number {
  const v = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0) throw new UsageError(`argument ${flag}: invalid non-negative float value: '${raw}'`)
  return v
}

export function choice<T extends string>(flag: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`argument ${flag}: invalid choice: '${raw}' (choose from ${allowed.map((c) => `'${c}'`).join(', ')})`)
  }
  return raw as T
}

/** Runs node:util parseArgs (or anything that throws on bad flags) with its errors turned into UsageError (exit 2, no stack). */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
}

/** `usage` line, description, then one line per flag: `  -a, --arch {…}   what (default: …)`. */
export function formatHelp(usage: string, description: string, flags: readonly [string, string][]): string {
  const width = Math.max(...flags.map(([f]) => f.length)) + 2
  return [usage, '', description, '', 'options:', ...flags.map(([f, h]) => `  ${f.padEnd(width)}${h}`)].join('\n')
}
