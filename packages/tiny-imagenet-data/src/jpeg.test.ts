import { describe, expect, it, beforeAll } from 'vitest'
import { makeJpeg } from '../test/_fixture'
import { decodeJpeg, initJpegDecoder } from './jpeg'

beforeAll(async () => {
  await initJpegDecoder()
})

describe('decodeJpeg', () => {
  it('decodes colour and 1-component JPEGs to 64x64 RGB', async () => {
    const rgb = decodeJpeg(await makeJpeg(3), 'a.JPEG')
    expect([rgb.width, rgb.height, rgb.data.length]).toEqual([64, 64, 64 * 64 * 3])
    // The pattern's red channel rises 4 per column: JPEG at quality 90 keeps that within a few levels.
    expect(Math.abs((rgb.data[3 * 10] as number) - ((40 + 3 * 37) % 256))).toBeLessThan(8)
    const gray = decodeJpeg(await makeJpeg(3, true), 'g.JPEG')
    expect(gray.data.length).toBe(64 * 64 * 3)
    for (let i = 0; i < gray.data.length; i += 3) {
      expect(gray.data[i + 1]).toBe(gray.data[i])
      expect(gray.data[i + 2]).toBe(gray.data[i])
    }
  })

  it('rejects non-JPEG and truncated files, naming the file', async () => {
    expect(() => decodeJpeg(Buffer.from('GIF89a not a jpeg'), '/x/fake.JPEG')).toThrow(/\/x\/fake\.JPEG: not a JPEG file/)
    const good = await makeJpeg(5)
    // Cut inside the entropy-coded data: libjpeg would pad with grey and only warn.
    expect(() => decodeJpeg(good.subarray(0, Math.floor(good.length * 0.7)), '/x/cut.JPEG')).toThrow(/\/x\/cut\.JPEG: (corrupt or )?truncated JPEG/)
    expect(() => decodeJpeg(good.subarray(0, 100), '/x/head.JPEG')).toThrow(/\/x\/head\.JPEG: corrupt or truncated JPEG/)
    // The decoder is still usable after errors.
    expect(decodeJpeg(good, 'ok.JPEG').data.length).toBe(12288)
  })
})
