import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runPython } from '@tinylab/test-utils/torch'
import { describe, expect, it } from 'vitest'
import { formatPython } from './python-format'

// Python's format() is the reference: every (value, spec) pair is formatted by both and must match exactly.
const PY = `
import json, sys
cases = json.load(open(sys.argv[1]))
out = []
for v, is_int, spec in cases:
    x = int(v) if is_int else float(v)
    try:
        out.append(format(x, spec))
    except Exception as e:
        out.append('ERROR')
print(json.dumps(out))
`

function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe('formatPython matches Python format()', () => {
  it('floats and ints over many values and specs', async () => {
    const rand = seeded(42)
    const values: number[] = [0, -0, 0.5, 1.5, 2.5, 0.125, 0.375, -0.0001, 1e-5, 123456789.125, 1e16, 1e21, 9.9995, 0.0005,
      99.995, 999999.5, 5e-324, 1.7976931348623157e308, 0.1, 0.3, 2 / 3, -1 / 3, 100, 1234.5, Number.NaN, Infinity, -Infinity]
    for (let i = 0; i < 300; i++) {
      const mag = 10 ** Math.floor(rand() * 24 - 12)
      values.push((rand() - 0.3) * mag)
      values.push(Math.round(rand() * 2000) / 8 - 50) // exact binary ties at several precisions
    }
    const floatSpecs = ['', '6.3f', '.4e', '6.2f', '.3f', 'f', 'e', 'E', 'g', 'G', '.3g', '.10g', '#.3g', '.0f', '.0e', '%', '.1%',
      '+.2f', ' .2f', '012.3f', '<10.2f', '^12.3e', '*>10.1f', ',.2f', '_.1f', '015,.2f', '.2', '.5', 'z.2f', '=+10.2f']
    const cases: [string, boolean, string][] = []
    for (const v of values) for (const spec of floatSpecs) cases.push([String(v), false, spec])
    const ints = [0, 7, -7, 10, 391, 5004, 123456789, -42]
    const intSpecs = ['', 'd', '3d', '5d', '05d', ',d', 'x', '#x', 'X', 'b', '#o', '+d', '<6d', '^7d', '.2f', 'e']
    for (const v of ints) for (const spec of intSpecs) cases.push([String(v), true, spec])

    const file = join(mkdtempSync(join(tmpdir(), 'pyfmt-')), 'cases.json')
    writeFileSync(file, JSON.stringify(cases))
    const expected = JSON.parse(await runPython(PY, [file])) as string[]
    const mismatches: string[] = []
    cases.forEach(([v, isInt, spec], i) => {
      let ours: string
      try {
        ours = isInt ? formatPython(BigInt(v), spec) : formatPython(Number(v), spec)
      } catch {
        ours = 'ERROR'
      }
      if (ours !== expected[i]) mismatches.push(`format(${v}, '${spec}'): python ${JSON.stringify(expected[i])} ours ${JSON.stringify(ours)}`)
    })
    expect(mismatches.slice(0, 20)).toEqual([])
    expect(cases.length).toBeGreaterThan(10_000)
  })

  it('rejects specs Python rejects, naming the spec', () => {
    expect(() => formatPython(1.5, '3d')).toThrow(/'d'.*float/)
    expect(() => formatPython(1, 'q')).toThrow(/Invalid format specifier 'q'/)
  })
})
