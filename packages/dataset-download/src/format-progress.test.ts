import { describe, expect, it } from 'vitest'
import { formatProgress } from './format-progress'

describe('formatProgress', () => {
  it('formats bytes, percentage, rate and ETA in decimal MB, rounding the ETA up', () => {
    // 12.3e6 / 248.1e6 = 4.96 % -> 5.0 %; 44.2 s -> 45 s
    expect(formatProgress({ url: 'u', receivedBytes: 12_300_000, totalBytes: 248_100_043, bytesPerSecond: 5_200_000, etaSeconds: 44.2 })).toBe(
      '12.3 MB of 248.1 MB (5.0%), 5.2 MB/s, ETA 45 s',
    )
  })

  it('leaves out total, percentage and ETA when the server sent no length', () => {
    expect(formatProgress({ url: 'u', receivedBytes: 1_000_000, totalBytes: undefined, bytesPerSecond: 1e6, etaSeconds: undefined })).toBe('1.0 MB, 1.0 MB/s')
  })
})
