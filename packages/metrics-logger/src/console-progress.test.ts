import { describe, expect, it } from 'vitest'
import { ConsoleProgress, formatDuration } from './console-progress'

function fakeStream(isTTY: boolean) {
  const writes: string[] = []
  return { writes, stream: { isTTY, columns: 200, write: (s: string) => writes.push(s) } }
}

describe('ConsoleProgress', () => {
  it('prints plain periodic lines with rate and ETA when not a TTY', () => {
    let t = 0
    const { writes, stream } = fakeStream(false)
    const p = new ConsoleProgress({ total: 100, label: 'epoch 1', stream, intervalMs: 10_000, now: () => t })
    for (let i = 0; i < 100; i++) {
      t += 250 // 4 it/s
      p.tick(1, `loss ${(5 - i / 50).toFixed(2)}`)
    }
    p.done()
    // First tick, then every 10 s of fake time (40 steps), then the 100th step.
    expect(writes).toEqual([
      'epoch 1 1/100 1.0% | 4.0 it/s | elapsed 0:00 | ETA 0:25 | loss 5.00\n',
      'epoch 1 41/100 41.0% | 4.0 it/s | elapsed 0:10 | ETA 0:15 | loss 4.20\n',
      'epoch 1 81/100 81.0% | 4.0 it/s | elapsed 0:20 | ETA 0:05 | loss 3.40\n',
      'epoch 1 100/100 100.0% | 4.0 it/s | elapsed 0:25 | ETA 0:00 | loss 3.02\n',
    ])
    p.tick(0)
    p.done('finished')
    expect(writes.at(-1)).toBe('epoch 1 100/100 100.0% | 4.0 it/s | elapsed 0:25 | ETA 0:00 | finished\n')
    expect(writes.every((w) => !w.includes('\r') && !w.includes('\x1b'))).toBe(true)
  })

  it('redraws one line in place on a TTY and ends it on done()', () => {
    let t = 0
    const { writes, stream } = fakeStream(true)
    const p = new ConsoleProgress({ total: 3, stream, now: () => t })
    for (let i = 0; i < 3; i++) {
      t += 2000
      p.tick()
    }
    p.done()
    expect(writes.slice(0, 3)).toEqual([
      '\r1/3 33.3% | 2.00 s/it | elapsed 0:02 | ETA 0:04\x1b[K',
      '\r2/3 66.7% | 2.00 s/it | elapsed 0:04 | ETA 0:02\x1b[K',
      '\r3/3 100.0% | 2.00 s/it | elapsed 0:06 | ETA 0:00\x1b[K',
    ])
    expect(writes.at(-1)).toBe('\n')
    expect(writes.filter((w) => w.includes('\n'))).toEqual(['\n'])
  })

  it.each([
    [0, '0:00'],
    [59.4, '0:59'],
    [61, '1:01'],
    [3725, '1:02:05'],
    [Number.NaN, '?'],
  ])('formatDuration(%d) = %s', (s, expected) => {
    expect(formatDuration(s)).toBe(expected)
  })
})
