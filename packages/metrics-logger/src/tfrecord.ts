import { maskedCrc32c } from './_crc32c'

/**
 * Frames one record as TFRecord (tensorflow/core/lib/io/record_writer.cc):
 * uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data), all little-endian.
 */
export function encodeTfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(data.length), true)
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true)
  out.set(data, 12)
  view.setUint32(12 + data.length, maskedCrc32c(data), true)
  return out
}

/**
 * Splits a TFRecord file into records, checking both CRCs of each; a torn last record (a writer killed mid-write)
 * is reported as `truncated` instead of throwing, as TensorBoard tolerates it.
 *
 * @example
 * const { records } = readTfRecords(readFileSync(eventFile))
 */
export function readTfRecords(bytes: Uint8Array, fileName = 'records'): { records: Uint8Array[]; truncated: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const records: Uint8Array[] = []
  let p = 0
  while (p < bytes.length) {
    if (p + 12 > bytes.length) return { records, truncated: true }
    const len = Number(view.getBigUint64(p, true))
    if (view.getUint32(p + 8, true) !== maskedCrc32c(bytes.subarray(p, p + 8))) throw new Error(`${fileName}: length CRC mismatch in the record at byte ${p}`)
    if (p + 12 + len + 4 > bytes.length) return { records, truncated: true }
    const data = bytes.subarray(p + 12, p + 12 + len)
    if (view.getUint32(p + 12 + len, true) !== maskedCrc32c(data)) throw new Error(`${fileName}: data CRC mismatch in the record at byte ${p}`)
    records.push(data)
    p += 16 + len
  }
  return { records, truncated: false }
}
