/**
 * Python's format-spec mini-language (`format(value, '6.3f')`), so log lines match imagenet `main.py` byte for byte.
 *
 * Grammar (Python docs, "Format Specification Mini-Language"):
 *   [[fill]align][sign]["z"]["#"]["0"][width][grouping][.precision][type]
 *
 * JS numbers are Python floats here; pass a `bigint` to get Python int semantics (`'d'`, `'x'`, no type = int).
 * Rounding is exact round-half-even on the binary value, as CPython does (`(0.125).toFixed(2)` is `0.13` in JS but
 * `format(0.125, '.2f')` is `0.12` in Python), so the digits are computed from the exact decimal expansion.
 */

interface Spec {
  fill: string
  align: '<' | '>' | '^' | '=' | undefined
  sign: '+' | '-' | ' '
  z: boolean
  alt: boolean
  zero: boolean
  width: number
  grouping: ',' | '_' | undefined
  precision: number | undefined
  type: string
}

const SPEC_RE = /^(?:(.)?([<>=^]))?([+\- ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/su

function parseSpec(spec: string): Spec {
  const m = SPEC_RE.exec(spec)
  if (!m) throw new Error(`Invalid format specifier '${spec}'`)
  return {
    fill: m[1] ?? (m[6] && !m[2] ? '0' : ' '),
    align: (m[2] as Spec['align']) ?? (m[6] ? '=' : undefined),
    sign: (m[3] as Spec['sign']) ?? '-',
    z: m[4] !== undefined,
    alt: m[5] !== undefined,
    zero: m[6] !== undefined,
    width: m[7] ? Number(m[7]) : 0,
    grouping: m[8] as Spec['grouping'],
    precision: m[9] !== undefined ? Number(m[9]) : undefined,
    type: m[10] ?? '',
  }
}

/** The exact decimal value of a finite non-negative double: `0.digits × 10^exp`; digits has no leading zeros ('' for 0). */
function exactDecimal(x: number): { digits: string; exp: number } {
  if (x === 0) return { digits: '', exp: 0 }
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  const bits = view.getBigUint64(0)
  const biasedExp = Number((bits >> 52n) & 0x7ffn)
  const fraction = bits & ((1n << 52n) - 1n)
  const mantissa = biasedExp === 0 ? fraction : fraction | (1n << 52n)
  const e2 = (biasedExp === 0 ? 1 : biasedExp) - 1075
  let intDigits: string
  let scale: number
  if (e2 >= 0) {
    intDigits = (mantissa << BigInt(e2)).toString()
    scale = 0
  } else {
    // m × 2^e2 = m × 5^-e2 / 10^-e2
    intDigits = (mantissa * 5n ** BigInt(-e2)).toString()
    scale = -e2
  }
  const trimmed = intDigits.replace(/0+$/u, '')
  return { digits: trimmed, exp: intDigits.length - scale }
}

/** Rounds `0.digits × 10^exp` to keep `keep` digits (may be <= 0), half to even; returns digits of length `keep` (or keep+1 on carry). */
function roundDigits(digits: string, keep: number): { digits: string; carried: boolean } {
  if (keep < 0) return { digits: '', carried: false }
  if (digits.length <= keep) return { digits: digits.padEnd(keep, '0'), carried: false }
  const head = digits.slice(0, keep)
  const first = digits.charCodeAt(keep) - 48
  const restNonZero = /[1-9]/u.test(digits.slice(keep + 1))
  const lastHead = keep > 0 ? head.charCodeAt(keep - 1) - 48 : 0
  const roundUp = first > 5 || (first === 5 && (restNonZero || lastHead % 2 === 1))
  if (!roundUp) return { digits: head, carried: false }
  if (keep === 0) return { digits: '1', carried: true }
  const bumped = (BigInt(head) + 1n).toString().padStart(keep, '0')
  return bumped.length > keep ? { digits: bumped, carried: true } : { digits: bumped, carried: false }
}

/** Fixed notation with `precision` decimals of a finite non-negative double. */
function toFixedExact(x: number, precision: number): string {
  const { digits, exp } = exactDecimal(x)
  // The result is the integer N = round(x × 10^precision), which has at most exp + precision digits (one more on carry).
  const n = roundDigits(digits, exp + precision).digits || '0'
  const padded = n.padStart(precision + 1, '0')
  const intPart = padded.slice(0, padded.length - precision)
  return precision > 0 ? `${intPart}.${padded.slice(padded.length - precision)}` : intPart
}

/** Scientific digits: `d.ddd` with `sig` significant digits and a decimal exponent, for a finite non-negative double. */
function toSci(x: number, sig: number): { mantissa: string; exp: number } {
  if (x === 0) return { mantissa: '0'.padEnd(sig, '0'), exp: 0 }
  const { digits, exp } = exactDecimal(x)
  const r = roundDigits(digits, sig)
  return { mantissa: r.digits.slice(0, sig), exp: exp - 1 + (r.carried ? 1 : 0) }
}

function sciString(mantissa: string, exp: number, alt: boolean, upper: boolean): string {
  const head = mantissa.slice(0, 1)
  const tail = mantissa.slice(1)
  const expStr = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  return `${head}${tail || alt ? '.' : ''}${tail}${upper ? 'E' : 'e'}${expStr}`
}

/** Python's 'g' / None presentation for a finite non-negative double. */
function general(x: number, precision: number, alt: boolean, upper: boolean, noneType: boolean): string {
  const p = precision === 0 ? 1 : precision
  const { mantissa, exp } = toSci(x, p)
  // The None presentation switches to scientific one digit earlier than 'g' (Python docs: "when exp >= p - 1").
  if (x !== 0 && (exp < -4 || exp >= (noneType ? p - 1 : p))) {
    const m = alt ? mantissa : mantissa.replace(/0+$/u, '')
    return sciString(m, exp, alt, upper)
  }
  const decimals = x === 0 ? p - 1 : p - 1 - exp
  let s = toFixedExact(x, Math.max(decimals, 0))
  if (!alt && s.includes('.')) s = s.replace(/0+$/u, '').replace(/\.$/u, '')
  if (alt && !s.includes('.')) s += '.'
  if (noneType && !s.includes('.')) s += '.0'
  return s
}

/** Python's repr(float): shortest round-trip digits, scientific outside 1e-4 <= |x| < 1e16. */
function reprFloat(x: number): string {
  if (x === 0) return '0.0'
  const [m = '', e = '0'] = x.toExponential().split('e')
  const mantissa = m.replace('.', '')
  const exp = Number(e)
  if (exp < -4 || exp >= 16) return sciString(mantissa, exp, false, false)
  if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${mantissa}`
  const intPart = mantissa.slice(0, exp + 1).padEnd(exp + 1, '0')
  const frac = mantissa.slice(exp + 1)
  return `${intPart}.${frac || '0'}`
}

function group(intPart: string, sep: string, every: number): string {
  let out = ''
  for (let i = 0; i < intPart.length; i++) {
    if (i > 0 && (intPart.length - i) % every === 0) out += sep
    out += intPart[i]
  }
  return out
}

function pad(sign: string, body: string, spec: Spec, defaultAlign: '<' | '>'): string {
  const align = spec.align ?? defaultAlign
  const len = sign.length + [...body].length
  const n = Math.max(spec.width - len, 0)
  const fill = spec.fill.repeat(n)
  switch (align) {
    case '<':
      return sign + body + fill
    case '>':
      return fill + sign + body
    case '=':
      return sign + fill + body
    case '^': {
      const left = spec.fill.repeat(Math.floor(n / 2))
      return left + sign + body + spec.fill.repeat(n - Math.floor(n / 2))
    }
  }
}

function signOf(negative: boolean, spec: Spec): string {
  if (negative) return '-'
  return spec.sign === '-' ? '' : spec.sign
}

/** Applies grouping to a digit string that may have a fraction/exponent, and zero padding that honours grouping. */
function withGrouping(body: string, spec: Spec, every: number): string {
  if (!spec.grouping) return body
  const m = /^(\d+)(.*)$/su.exec(body)
  if (!m) return body
  return group(m[1] ?? '', spec.grouping, every) + (m[2] ?? '')
}

function formatFloat(value: number, spec: Spec): string {
  const type = spec.type
  if (!'eEfFgG%'.includes(type) && type !== '')
    throw new Error(`Unknown format code '${type}' for object of type 'float'`)
  const upper = type === 'E' || type === 'F' || type === 'G'
  let negative = value < 0 || Object.is(value, -0)
  const x = Math.abs(value)
  let body: string
  const percent = type === '%' ? '%' : ''
  if (Number.isNaN(value)) {
    negative = false
    body = (upper ? 'NAN' : 'nan') + percent
  } else if (!Number.isFinite(type === '%' ? x * 100 : x)) {
    body = (upper ? 'INF' : 'inf') + percent
  } else {
    switch (type) {
      case 'f':
      case 'F':
        body = toFixedExact(x, spec.precision ?? 6)
        if (spec.alt && !body.includes('.')) body += '.'
        break
      case '%':
        body = `${toFixedExact(x * 100, spec.precision ?? 6)}%`
        break
      case 'e':
      case 'E': {
        const { mantissa, exp } = toSci(x, (spec.precision ?? 6) + 1)
        body = sciString(mantissa, exp, spec.alt, upper)
        break
      }
      case 'g':
      case 'G':
        body = general(x, spec.precision ?? 6, spec.alt, upper, false)
        break
      default:
        body = spec.precision === undefined ? reprFloat(x) : general(x, spec.precision, spec.alt, false, true)
    }
    if (spec.z && negative && /^[0.%]*$/u.test(body.replace(/e.*$/iu, ''))) negative = false
  }
  const sign = signOf(negative, spec)
  const grouped = withGrouping(body, spec, 3)
  if (spec.zero && spec.align === '=' && spec.grouping && /^\d/u.test(grouped)) {
    // Python zero-pads through the group separators: format(1234.5, '012,.1f') == '0,001,234.5'.
    return sign + zeroPadGrouped(grouped, spec.width - sign.length, spec.grouping, 3)
  }
  return pad(sign, grouped, spec, '>')
}

function zeroPadGrouped(grouped: string, width: number, sep: string, every: number): string {
  const m = /^([\d,_]+)(.*)$/su.exec(grouped)
  if (!m) return grouped
  const rest = m[2] ?? ''
  let digits = (m[1] ?? '').split(sep).join('')
  let out = group(digits, sep, every)
  while (out.length + rest.length < width) {
    digits = `0${digits}`
    out = group(digits, sep, every)
  }
  return out + rest
}

function formatInt(value: bigint, spec: Spec): string {
  const type = spec.type
  if ('eEfFgG%'.includes(type) && type !== '') return formatFloat(Number(value), spec)
  if (spec.precision !== undefined) throw new Error('Precision not allowed in integer format specifier')
  const negative = value < 0n
  const abs = negative ? -value : value
  let body: string
  let every = 3
  switch (type) {
    case '':
    case 'd':
    case 'n':
      body = abs.toString()
      break
    case 'b':
      body = (spec.alt ? '0b' : '') + abs.toString(2)
      every = 4
      break
    case 'o':
      body = (spec.alt ? '0o' : '') + abs.toString(8)
      every = 4
      break
    case 'x':
      body = (spec.alt ? '0x' : '') + abs.toString(16)
      every = 4
      break
    case 'X':
      body = (spec.alt ? '0X' : '') + abs.toString(16).toUpperCase()
      every = 4
      break
    case 'c':
      body = String.fromCodePoint(Number(abs))
      break
    default:
      throw new Error(`Unknown format code '${type}' for object of type 'int'`)
  }
  const sign = signOf(negative, spec)
  const grouped = spec.grouping && !spec.alt ? group(body, spec.grouping, every) : body
  if (spec.zero && spec.align === '=' && spec.grouping && !spec.alt)
    return sign + zeroPadGrouped(grouped, spec.width - sign.length, spec.grouping, every)
  return pad(sign, grouped, spec, '>')
}

function formatString(value: string, spec: Spec): string {
  if (spec.type !== '' && spec.type !== 's') throw new Error(`Unknown format code '${spec.type}' for object of type 'str'`)
  if (spec.align === '=') throw new Error("'=' alignment not allowed in string format specifier")
  const body = spec.precision !== undefined ? [...value].slice(0, spec.precision).join('') : value
  return pad('', body, spec, '<')
}

/**
 * Formats one value like Python's `format(value, spec)`.
 *
 * @example
 * formatPython(0.0371, '6.3f')   // '  0.037'  (Python: format(0.0371, '6.3f'))
 * formatPython(2.3456, '.4e')    // '2.3456e+00'
 * formatPython(7n, '3d')         // '  7'
 * formatPython(7, '3d')          // '  7'  (an integral number is accepted for 'd', as Python accepts an int)
 */
export function formatPython(value: number | bigint | string, spec: string): string {
  const s = parseSpec(spec)
  if (typeof value === 'string') return formatString(value, s)
  if (typeof value === 'bigint') return formatInt(value, s)
  if ('bcdoxXn'.includes(s.type) && s.type !== '') {
    if (!Number.isInteger(value))
      throw new Error(`Unknown format code '${s.type}' for object of type 'float' (value ${value} is not an integer)`)
    return formatInt(BigInt(value), s)
  }
  return formatFloat(value, s)
}

/**
 * A subset of Python's `str.format`: `{name}`, `{name:spec}`, `{}` / `{0}` positional, `{{` / `}}` escapes.
 *
 * @example
 * pyFormat('{name} {val:6.3f} ({avg:6.3f})', { name: 'Time', val: 0.0371, avg: 0.146 })  // 'Time  0.037 ( 0.146)'
 * pyFormat('[{:3d}/{:3d}]', 10, 391)                                                    // '[ 10/391]'
 */
export function pyFormat(template: string, ...args: (number | bigint | string | Record<string, number | bigint | string>)[]): string {
  const named = args.length === 1 && typeof args[0] === 'object' ? (args[0] as Record<string, number | bigint | string>) : {}
  let auto = 0
  return template.replace(/\{\{|\}\}|\{([^{}:]*)(?::([^{}]*))?\}/gu, (match, field: string | undefined, spec: string | undefined) => {
    if (match === '{{') return '{'
    if (match === '}}') return '}'
    const key = field ?? ''
    let value: number | bigint | string | undefined
    if (key === '') value = args[auto++] as number | bigint | string | undefined
    else if (/^\d+$/u.test(key)) value = args[Number(key)] as number | bigint | string | undefined
    else value = named[key]
    if (value === undefined || typeof value === 'object') throw new Error(`pyFormat: no value for field '{${key}}' in '${template}'`)
    // Without a spec Python prints an int as '3' and a float as '3.0'; JS cannot tell them apart, and templates such as
    // "Epoch: [{}]" format counters, so an integral number without a spec prints as an int.
    if (!spec && typeof value === 'number' && Number.isInteger(value)) return formatPython(BigInt(value), '')
    return formatPython(value, spec ?? '')
  })
}
