import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { epochTable, fileSizeTable, formatBytes, formatCell } from './report-tables'

const row = (tag: string, step: number, value: number) => ({ tag, step, value, wall_time: 0 })

describe('report tables', () => {
  it('epochTable: one row per epoch of the key tag, – for a value not logged, the key’s last and best', () => {
    const rows = [row('val_acc', 1, 20.5), row('loss', 0, 2.25), row('val_acc', 0, 30), row('val_acc', 2, 25.125), row('loss', 2, 1.5), row('loss', 7, 1)]
    const t = epochTable(rows, [{ tag: 'loss', heading: 'loss', digits: 3 }, { tag: 'val_acc', heading: 'acc', digits: 1 }], 'val_acc')
    expect(t.lines).toEqual(['| epoch | loss | acc |', '|---:|---:|---:|', '| 0 | 2.250 | 30.0 |', '| 1 | – | 20.5 |', '| 2 | 1.500 | 25.1 |'])
    expect(t).toMatchObject({ epochs: 3, last: 25.125, best: 30, bestEpoch: 0 })
    expect(epochTable([], [], 'x')).toMatchObject({ epochs: 0, last: undefined, best: undefined })
  })

  it('formats cells and sizes', () => {
    expect([formatCell(undefined), formatCell(Number.NaN), formatCell(1 / 3), formatCell(2.5, 0)]).toEqual(['–', '–', '0.333', '3'])
    expect([formatBytes(1536), formatBytes(3 * 1024 * 1024)]).toEqual(['1.5 KiB', '3.0 MiB'])
  })

  const tmp = mkdtempSync(path.join(tmpdir(), 'report-tables-'))
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))
  it('fileSizeTable: matching files of every folder once, sorted by path, missing folders skipped', () => {
    mkdirSync(path.join(tmp, 'b'))
    writeFileSync(path.join(tmp, 'z.pth'), Buffer.alloc(2048))
    writeFileSync(path.join(tmp, 'notes.txt'), 'x')
    writeFileSync(path.join(tmp, 'b', 'a.pth'), Buffer.alloc(1024))
    const dirs = [tmp, path.join(tmp, 'b'), tmp, path.join(tmp, 'missing')]
    expect(fileSizeTable(dirs, /\.pth$/u)).toEqual(['| file | size |', '|---|---:|', '| a.pth | 1.0 KiB |', '| z.pth | 2.0 KiB |'])
    expect(fileSizeTable([path.join(tmp, 'missing')], /./u)).toEqual([])
  })
})
