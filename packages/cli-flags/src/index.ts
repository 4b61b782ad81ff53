/**
 * argparse-style command lines from one flag table: each flag is declared once and the parser, the defaults and the
 * `--help` text come from that declaration. Mistakes are `UsageError`s with argparse's wording
 * (`argument --lr: invalid float value: 'x'`), which a CLI prints as one line and exits 2 on, as argparse does.
 */

/** A mistake in the command line: print `err.message` without a stack and exit with status 2. */
export class UsageError extends Error {}

/** The numeric types name the rule in their error: `invalid positive int value: '0'`. */
export type FlagType = 'string' | 'bool' | 'int' | 'float' | 'positive int' | 'non-negative int' | 'non-negative float'

export interface FlagSpec {
  /** How the flag is written, in the order --help lists them: `['-a', '--arch']`, `['--batch_size', '--batch-size']`. */
  names: readonly string[]
  /** Also accepted, never shown (e.g. imagenet main.py's `--learning-rate`). */
  hidden?: readonly string[]
  type: FlagType
  /** The value when the flag is not given; none: `undefined` (`false` for a bool). */
  default?: string | number | boolean
  help: string
  choices?: readonly string[]
  /** The value's name in --help (default: `{a,b}` for choices, else the table key in capitals). */
  metavar?: string
  /** What `(default: …)` says instead of the value ('none', 'off', 'auto = …'). */
  defaultHelp?: string
  /** The whole first column of --help, when it is not `names METAVAR` (e.g. 'DIR, --data DIR'). */
  label?: string
  /** Numbers below this are refused: `invalid value: 0 (must be >= 1)`. */
  min?: number
  /** Numbers at or below this are refused: `invalid value: 0 (must be > 0)`. */
  above?: number
  /**
   * A string flag's own test, like argparse's `type=` function: called with the value the command line gives; what it
   * throws is refused as `argument --save: <its message>`.
   */
  check?: (value: string) => unknown
}

/** Flags keyed by the name their value is stored under (argparse's `dest`), in --help order. */
export type FlagTable = Readonly<Record<string, FlagSpec>>

type ValueOf<S extends FlagSpec> = S extends { type: 'bool' }
  ? boolean
  : S extends { choices: readonly (infer C)[] }
    ? C
    : S extends { type: 'string' }
      ? string
      : number

/** The parsed values: flags with a default (and bools) always have one; the rest may be `undefined`. */
export type FlagValues<T extends FlagTable> = {
  -readonly [K in keyof T]: T[K] extends { type: 'bool' } | { default: string | number | boolean } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined
}

/** Declares a table with its literal types kept, so `parseFlags` returns typed values. */
export function flagTable<const T extends FlagTable>(table: T): T {
  return table
}

export interface ParseOptions<T extends FlagTable> {
  /** Accept arguments that are not flags (returned in order); otherwise each is an unrecognized argument. */
  positionals?: boolean
  /** Defaults that replace the table's for this parse (e.g. a --quick mode). */
  defaults?: Partial<FlagValues<T>>
}

export interface Parsed<T extends FlagTable> {
  values: FlagValues<T>
  positionals: string[]
  /** The keys the command line set itself. */
  given: Set<keyof T & string>
}

/** `argument -a/--arch:`: every visible name, as argparse writes it. */
export function flagName(spec: FlagSpec): string {
  return spec.names.join('/')
}

/** The `--long-name` of a key, for messages that quote a command line back. */
export function longName(table: FlagTable, key: string): string {
  const names = table[key]?.names ?? [key]
  return names.find((n) => n.startsWith('--')) ?? (names[0] as string)
}

function convert(spec: FlagSpec, raw: string): string | number {
  const label = flagName(spec)
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) {
      throw new UsageError(`argument ${label}: invalid choice: '${raw}' (choose from ${spec.choices.map((c) => `'${c}'`).join(', ')})`)
    }
    try {
      spec.check?.(raw)
    } catch (e) {
      throw new UsageError(`argument ${label}: ${e instanceof Error ? e.message : String(e)}`)
    }
    return raw
  }
  const isInt = spec.type.endsWith('int')
  const v = isInt ? (/^[+-]?\d+$/.test(raw.trim()) ? Number.parseInt(raw, 10) : Number.NaN) : raw.trim() === '' ? Number.NaN : Number(raw)
  const ok = !Number.isNaN(v) && (spec.type === 'positive int' ? v >= 1 : spec.type.startsWith('non-negative') ? v >= 0 && Number.isFinite(v) : true)
  if (!ok) throw new UsageError(`argument ${label}: invalid ${spec.type} value: '${raw}'`)
  if (spec.min !== undefined && !(v >= spec.min)) throw new UsageError(`argument ${label}: invalid value: ${v} (must be >= ${spec.min})`)
  if (spec.above !== undefined && !(v > spec.above)) throw new UsageError(`argument ${label}: invalid value: ${v} (must be > ${spec.above})`)
  return v
}

/** One value checked as a flag of `type` would be: for values inside a flag's value (`--checkpoint-epochs 5,10`). */
export function parseValue(flag: string, type: Exclude<FlagType, 'bool' | 'string'>, raw: string): number {
  return convert({ names: [flag], type, help: '' }, raw) as number
}

/**
 * Parses `argv` against the table: `--flag value`, `--flag=value`, bools without a value; the last occurrence wins.
 *
 * ```ts
 * const { values } = parseFlags(['--lr', '0.5'], flagTable({ lr: { names: ['--lr'], type: 'float', default: 0.1, help: 'learning rate' } }))
 * values.lr // 0.5
 * ```
 */
export function parseFlags<T extends FlagTable>(argv: readonly string[], table: T, options: ParseOptions<T> = {}): Parsed<T> {
  const values: Record<string, unknown> = {}
  const byName = new Map<string, [string, FlagSpec]>()
  for (const [key, spec] of Object.entries(table)) {
    values[key] = (options.defaults as Record<string, unknown> | undefined)?.[key] ?? spec.default ?? (spec.type === 'bool' ? false : undefined)
    for (const n of [...spec.names, ...(spec.hidden ?? [])]) byName.set(n, [key, spec])
  }
  const positionals: string[] = []
  const given = new Set<keyof T & string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const entry = byName.get(eq > 0 ? arg.slice(0, eq) : arg)
    if (entry === undefined) {
      if (options.positionals && !arg.startsWith('-')) {
        positionals.push(arg)
        continue
      }
      throw new UsageError(`unrecognized argument: ${arg} (see --help for the flags)`)
    }
    const [key, spec] = entry
    given.add(key as keyof T & string)
    if (spec.type === 'bool') {
      if (eq > 0) throw new UsageError(`argument ${flagName(spec)}: ignored explicit argument '${arg.slice(eq + 1)}'`)
      values[key] = true
      continue
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (raw === undefined) throw new UsageError(`argument ${flagName(spec)}: expected one argument`)
    values[key] = convert(spec, raw)
  }
  return { values: values as FlagValues<T>, positionals, given }
}

/** The `--help` text: usage, description, then one line per flag with its default, like argparse. */
export function helpText(usage: string, description: string, table: FlagTable): string {
  const rows = Object.entries(table).map(([key, s]) => {
    const metavar = s.type === 'bool' ? '' : ` ${s.metavar ?? (s.choices ? `{${s.choices.join(',')}}` : key.toUpperCase())}`
    const shown = s.defaultHelp ?? (s.type === 'bool' || s.default === undefined ? undefined : s.default === '' ? "''" : String(s.default))
    return [s.label ?? s.names.join(', ') + metavar, s.help + (shown === undefined ? '' : ` (default: ${shown})`)] as const
  })
  const width = Math.max(...rows.map(([n]) => n.length)) + 2
  return [`usage: ${usage}`, '', description, '', 'options:', ...rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`)].join('\n')
}
