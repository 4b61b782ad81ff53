import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { CSV_HEADER, PALETTE, lineChartSvg, niceTicks, scalarCsvLine } from '../src/index'

const run = promisify(execFile)

function hexToRgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number]
}

describe('plots without a browser', () => {
  // Two curves (train/val loss over 30 epochs, the val curve turning up: over-fitting), as the report shows them.
  const dir = mkdtempSync(join(tmpdir(), 'plot-'))
  const csv = join(dir, 'scalars.csv')
  const rows = Array.from({ length: 30 }, (_, e) => [
    { tag: 'scalar/train_loss', step: e, value: 5.3 * Math.exp(-e / 8) + 0.2, wall_time: 1 + e },
    { tag: 'scalar/val_loss', step: e, value: 5.1 * Math.exp(-e / 10) + 0.02 * Math.max(0, e - 12) ** 1.5 + 0.9, wall_time: 1 + e },
  ]).flat()
  writeFileSync(csv, `${CSV_HEADER}\n${rows.map(scalarCsvLine).join('\n')}\n`)

  it('`pnpm --filter @tinylab/metrics-logger plot` renders a PNG of two curves that decodes with pngjs', async () => {
    const out = join(dir, 'curves.png')
    const { stdout } = await run('pnpm', ['--filter', '@tinylab/metrics-logger', 'plot', '--csv', csv, '--out', out, '--title', 'loss'], { cwd: REPO_ROOT })
    expect(stdout).toContain(`wrote ${out} (2 series, 60 rows)`)
    const png = PNG.sync.read(readFileSync(out))
    expect([png.width, png.height]).toEqual([800, 500])
    const count = (pred: (r: number, g: number, b: number) => boolean) => {
      let n = 0
      for (let i = 0; i < png.data.length; i += 4) if (pred(png.data[i] as number, png.data[i + 1] as number, png.data[i + 2] as number)) n++
      return n
    }
    const near = ([r0, g0, b0]: [number, number, number]) => (r: number, g: number, b: number) => Math.abs(r - r0) + Math.abs(g - g0) + Math.abs(b - b0) < 40
    const blue = count(near(hexToRgb(PALETTE[0])))
    const orange = count(near(hexToRgb(PALETTE[1])))
    const nonWhite = count((r, g, b) => r + g + b < 700)
    // Each curve spans ~700 px of width at 2 px thickness: well over 1,000 pixels of its colour; the legend adds ~75.
    expect(blue).toBeGreaterThan(1000)
    expect(orange).toBeGreaterThan(1000)
    expect(nonWhite).toBeGreaterThan(5000)
    expect(nonWhite).toBeLessThan(800 * 500 * 0.25) // mostly white background: not a blank or solid image
    // The val curve rises at the right end (over-fitting): its colour appears above where the train curve is.
    const column = 730 // x = 27 of 0..30 on a 710 px wide plot starting at 70
    const rowsOf = (pred: (r: number, g: number, b: number) => boolean) => {
      const ys: number[] = []
      for (let y = 0; y < png.height; y++) {
        const i = (y * png.width + column) * 4
        if (pred(png.data[i] as number, png.data[i + 1] as number, png.data[i + 2] as number)) ys.push(y)
      }
      return ys
    }
    const blueYs = rowsOf(near(hexToRgb(PALETTE[0])))
    const orangeYs = rowsOf(near(hexToRgb(PALETTE[1])))
    expect(blueYs.length).toBeGreaterThan(0)
    expect(orangeYs.length).toBeGreaterThan(0)
    expect(Math.max(...orangeYs)).toBeLessThan(Math.min(...blueYs))
  })

  it('writes SVG with one polyline per series, axes ticks and a legend', async () => {
    const out = join(dir, 'curves.svg')
    await run('pnpm', ['--filter', '@tinylab/metrics-logger', 'plot', '--csv', csv, '--out', out, '--tags', 'scalar/val_loss'], { cwd: REPO_ROOT })
    const svg = readFileSync(out, 'utf8')
    expect(svg.match(/<polyline /g)).toHaveLength(1)
    expect(svg).toContain('>scalar/val_loss</text>')
    const polyline = svg.match(/points="([^"]+)"/)?.[1]?.split(' ') ?? []
    expect(polyline).toHaveLength(30)
    const direct = lineChartSvg({ series: [{ name: 'a', points: [{ x: 0, y: 1 }, { x: 10, y: 3 }] }, { name: 'b', points: [{ x: 0, y: 2 }, { x: 10, y: 0 }] }] })
    expect(direct.match(/<polyline /g)).toHaveLength(2)
    expect(direct).toContain(`stroke="${PALETTE[1]}"`)
  })

  it('reports bad arguments with the flag and value, exit code 2', async () => {
    await expect(run('pnpm', ['--filter', '@tinylab/metrics-logger', 'plot', '--csv', csv, '--tags', 'nope'], { cwd: REPO_ROOT })).rejects.toMatchObject({
      stderr: expect.stringContaining("tinylab-plot: error: --tags: 'nope' is not in the file (tags: scalar/train_loss, scalar/val_loss)"),
    })
  })

  it.each([
    [0, 29, [0, 5, 10, 15, 20, 25, 30]],
    [0.21, 5.5, [0, 1, 2, 3, 4, 5, 6]],
    [1.5, 1.5, [1.3, 1.4, 1.5, 1.6, 1.7]],
  ])('niceTicks(%d, %d) covers the range with 1-2-5 steps', (min, max, expected) => {
    expect(niceTicks(min, max)).toEqual(expected)
  })
})

describe('plotRun', () => {
  it("draws the reference's four tags as loss and acc charts from a SummaryWriter run", async () => {
    const { SummaryWriter, plotRun, chartGroups } = await import('../src/index')
    expect([...chartGroups(['scalar/train_loss', 'scalar/train_acc', 'scalar/val_loss', 'scalar/val_acc', 'lr']).entries()]).toEqual([
      ['loss', ['scalar/train_loss', 'scalar/val_loss']],
      ['acc', ['scalar/train_acc', 'scalar/val_acc']],
      ['lr', ['lr']],
    ])
    const runDir = join(mkdtempSync(join(tmpdir(), 'plotrun-')), 'run')
    const writer = new SummaryWriter({ runDir, flushOnExit: false })
    for (let e = 0; e < 5; e++) {
      writer.addScalar('scalar/train_loss', 5 - e, e)
      writer.addScalar('scalar/train_acc', 10 * e, e)
      writer.addScalar('scalar/val_loss', 5.2 - e / 2, e)
      writer.addScalar('scalar/val_acc', 8 * e, e)
    }
    writer.close()
    const files = plotRun(runDir)
    expect(files.map((f) => f.slice(runDir.length + 1))).toEqual(['loss.png', 'loss.svg', 'acc.png', 'acc.svg'])
    const png = PNG.sync.read(readFileSync(join(runDir, 'acc.png')))
    expect([png.width, png.height]).toEqual([800, 500])
    expect(readFileSync(join(runDir, 'loss.svg'), 'utf8').match(/<polyline /g)).toHaveLength(2)
    expect(() => plotRun(join(runDir, 'nope'))).toThrow(/nope has no scalars\.jsonl or scalars\.csv/)
  })
})
