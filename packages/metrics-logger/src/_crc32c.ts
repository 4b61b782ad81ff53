import { createRequire } from 'node:module'

// CRC-32C (Castagnoli), the checksum TFRecord framing uses, from SheetJS's crc-32 package (its `crc32c.js` entry).
// Loaded with require in both builds: the file is CommonJS whose exports Node's ESM loader sees only as `default`.
const CRC32C = createRequire(import.meta.url)('crc-32/crc32c.js') as typeof import('crc-32')

export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0
}

/** TensorFlow's masked CRC (tensorflow/core/lib/hash/crc32c.h `Mask`): rotate right by 15 and add a constant. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes)
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0
}
