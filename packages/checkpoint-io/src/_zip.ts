// CRC-32 (IEEE, as zip uses): Node's own, zlib's crc32 (node:zlib.crc32, Node >= 20.15).
import { crc32 } from 'node:zlib'

// Just enough of the zip format for torch.save archives: stored (uncompressed) entries, read through the central
// directory (torch writes sizes in data descriptors, not in local headers), written with 64-byte aligned data like
// caffe2/serialize/inline_container.cc does so readers may map tensors in place.

const LOCAL = 0x04034b50
const CENTRAL = 0x02014b50
const END = 0x06054b50
const ZIP64_END = 0x06064b50
const ZIP64_LOCATOR = 0x07064b50
export const ZIP_ALIGNMENT = 64

/** Reads a zip archive's stored entries as views into `buf` (no copies). */
export function readZip(buf: Uint8Array, fileName = 'archive'): Map<string, Uint8Array> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let eocd = -1
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === END) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new Error(`${fileName}: not a zip archive (no end-of-central-directory record); truncated file?`)
  let count = view.getUint16(eocd + 10, true)
  let cdOffset = view.getUint32(eocd + 16, true)
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const locator = eocd - 20
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) throw new Error(`${fileName}: bad zip64 locator`)
    const end64 = Number(view.getBigUint64(locator + 8, true))
    if (view.getUint32(end64, true) !== ZIP64_END) throw new Error(`${fileName}: bad zip64 end record`)
    count = Number(view.getBigUint64(end64 + 32, true))
    cdOffset = Number(view.getBigUint64(end64 + 48, true))
  }
  const entries = new Map<string, Uint8Array>()
  let p = cdOffset
  const decoder = new TextDecoder()
  for (let n = 0; n < count; n++) {
    if (view.getUint32(p, true) !== CENTRAL) throw new Error(`${fileName}: corrupt zip central directory at byte ${p}`)
    const method = view.getUint16(p + 10, true)
    let size = view.getUint32(p + 20, true)
    const nameLen = view.getUint16(p + 28, true)
    const extraLen = view.getUint16(p + 30, true)
    const commentLen = view.getUint16(p + 32, true)
    let localOffset = view.getUint32(p + 42, true)
    const name = decoder.decode(buf.subarray(p + 46, p + 46 + nameLen))
    // zip64 extended information: [uncompressed, compressed, local offset] for fields that are 0xffffffff.
    let e = p + 46 + nameLen
    const extraEnd = e + extraLen
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true)
      const len = view.getUint16(e + 2, true)
      if (id === 1) {
        let q = e + 4
        if (size === 0xffffffff) {
          size = Number(view.getBigUint64(q, true))
          q += 16 // uncompressed then compressed
        }
        if (localOffset === 0xffffffff) localOffset = Number(view.getBigUint64(q, true))
      }
      e += 4 + len
    }
    if (method !== 0) throw new Error(`${fileName}: zip entry ${name} is compressed (method ${method}); torch archives are stored`)
    if (view.getUint32(localOffset, true) !== LOCAL) throw new Error(`${fileName}: bad local header for ${name}`)
    const start = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true)
    if (start + size > buf.length) throw new Error(`${fileName}: zip entry ${name} runs past the end of the file (truncated?)`)
    entries.set(name, buf.subarray(start, start + size))
    p += 46 + nameLen + extraLen + commentLen
  }
  return entries
}

/** Builds a stored zip archive as a list of chunks (tensor bytes are not copied). Entries must be < 4 GiB in total. */
export function writeZip(entries: { name: string; data: Uint8Array }[]): Uint8Array[] {
  const encoder = new TextEncoder()
  const chunks: Uint8Array[] = []
  const central: Uint8Array[] = []
  let offset = 0
  for (const { name, data } of entries) {
    const nameBytes = encoder.encode(name)
    const headerEnd = offset + 30 + nameBytes.length
    // Pad with an extra field ('FB' like PyTorch) so the data starts on a 64-byte boundary.
    const pad = (ZIP_ALIGNMENT - ((headerEnd + 4) % ZIP_ALIGNMENT)) % ZIP_ALIGNMENT
    const extraLen = 4 + pad
    const local = new Uint8Array(30 + nameBytes.length + extraLen)
    const lv = new DataView(local.buffer)
    const crc = crc32(data)
    lv.setUint32(0, LOCAL, true)
    lv.setUint16(4, 20, true) // version needed
    lv.setUint16(6, 0, true) // flags
    lv.setUint16(8, 0, true) // stored
    lv.setUint32(14, crc, true)
    lv.setUint32(18, data.length, true)
    lv.setUint32(22, data.length, true)
    lv.setUint16(26, nameBytes.length, true)
    lv.setUint16(28, extraLen, true)
    local.set(nameBytes, 30)
    lv.setUint16(30 + nameBytes.length, 0x4246, true) // 'FB'
    lv.setUint16(32 + nameBytes.length, pad, true)
    local.fill(0x5a, 34 + nameBytes.length) // 'Z' padding, as PyTorch
    chunks.push(local, data)

    const c = new Uint8Array(46 + nameBytes.length)
    const cv = new DataView(c.buffer)
    cv.setUint32(0, CENTRAL, true)
    cv.setUint16(4, 20, true)
    cv.setUint16(6, 20, true)
    cv.setUint32(16, crc, true)
    cv.setUint32(20, data.length, true)
    cv.setUint32(24, data.length, true)
    cv.setUint16(28, nameBytes.length, true)
    cv.setUint32(42, offset, true)
    c.set(nameBytes, 46)
    central.push(c)
    offset += local.length + data.length
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0)
  if (offset + cdSize > 0xfffffffe) throw new Error('writeZip: archives over 4 GiB (zip64) are not supported')
  const end = new Uint8Array(22)
  const ev = new DataView(end.buffer)
  ev.setUint32(0, END, true)
  ev.setUint16(8, entries.length, true)
  ev.setUint16(10, entries.length, true)
  ev.setUint32(12, cdSize, true)
  ev.setUint32(16, offset, true)
  return [...chunks, ...central, end]
}
