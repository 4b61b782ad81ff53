/**
 * A small argparse: flags declared once give the parser, the defaults and the `--help` text (one line per flag, with
 * its default, like word_language_model's argparse help). User errors are `UsageError`s: main.ts prints them without a
 * stack and exits with status 2, as argparse does.
 */
export type FlagType = 'string' | 'int' | 'float' | 'bool'

export interface FlagSpec {
  name: string // '--batch_size'
  aliases?: string[] // ['--batch-size']
  type: FlagType
  default: string | number | boolean
  help: string
  choices?: readonly string[]
}

export type FlagValues = Record<string, string | number | boolean>

export class UsageError extends Error {}

/** The key a flag's value is stored under: `--log-interval` -> `log_interval`, as argparse's `dest`. */
export function dest(name: string): string {
  return name.replace(/^-+/, '').replace(/-/g, '_')
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): FlagValues {
  const values: FlagValues = {}
  const byName = new Map<string, FlagSpec>()
  for (const s of specs) {
    values[dest(s.name)] = s.default
    for (const n of [s.name, ...(s.aliases ?? [])]) byName.set(n, s)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const eq = arg.indexOf('=')
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const spec = byName.get(name)
    if (spec === undefined) {
      throw new UsageError(`unrecognized argument: ${arg} (see --help for the flags)`)
    }
    if (spec.type === 'bool') {
      if (eq > 0 && arg.startsWith('--')) throw new UsageError(`argument ${spec.name}: ignored explicit argument '${arg.slice(eq + 1)}'`)
      values[dest(spec.name)] = true
      continue
    }
    let raw: string | undefined
    if (eq > 0 && arg.startsWith('--')) raw = arg.slice(eq + 1)
    else raw = argv[++i]
    if (raw === undefined) throw new UsageError(`argument ${spec.name}: expected one argument`)
    values[dest(spec.name)] = convert(spec, raw)
  }
  return values
}

function convert(spec: FlagSpec, raw: string): string | number {
  if (spec.type === 'int') {
    if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`argument ${spec.name}: invalid int value: '${raw}'`)
    return Number.parseInt(raw, 10)
  }
  if (spec.type === 'float') {
    const v = Number(raw)
    if (raw.trim() === '' || Number.isNaN(v)) throw new UsageError(`argument ${spec.name}: invalid float value: '${raw}'`)
    return v
  }
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(`argument ${spec.name}: invalid choice: '${raw}' (choose from ${spec.choices.map((c) => `'${c}'`).join(', ')})`)
  }
  return raw
}

export function helpText(usage: string, description: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const metavar = s.type === 'bool' ? '' : ` ${s.choices ? `{${s.choices.join(',')}}` : dest(s.name).toUpperCase()}`
    const names = [s.name, ...(s.aliases ?? [])].join(', ') + metavar
    const def = s.type === 'bool' ? '' : ` (default: ${s.default === '' ? "''" : String(s.default)})`
    return [names, s.help + def] as const
  })
  const width = Math.max(...rows.map(([n]) => n.length)) + 2
  return [`usage: ${usage}`, '', description, '', 'options:', ...rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`)].join('\n')
}
