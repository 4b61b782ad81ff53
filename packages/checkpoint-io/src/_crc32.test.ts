import { describe, expect, it } from 'vitest'
import { crc32, crc32Table } from './_crc32'

describe('crc32', () => {
  it('matches the published check value and the table fallback', () => {
    // CRC-32/ISO-HDLC check value for "123456789" (Greg Cook's CRC catalogue): 0xCBF43926
    const check = new TextEncoder().encode('123456789')
    expect(crc32(check)).toBe(0xcbf43926)
    expect(crc32Table(check)).toBe(0xcbf43926)
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff)
    expect(crc32Table(data)).toBe(crc32(data))
  })
})
