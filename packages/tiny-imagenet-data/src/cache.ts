import { createHash } from 'node:crypto'
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import path from 'node:path'
import type { Sample } from './layout'

/**
 * Packed cache of decoded images, so epochs after the first skip JPEG decoding:
 * ```
 * 0   "TINYIMG1"  magic (8 bytes)
 * 8   u32 version (1), u32 count, u32 height, u32 width, u32 channels (3), u32 reserved
 * 32  sha256 of the sample list (32 bytes): relative path, label and byte size of every source file
 * 64  int32 labels[count]
 * ..  uint8 pixels[count][height][width][3]
 * ```
 * Little-endian. The fingerprint ties a cache to one class selection and one version of the files: a cache built for
 * 10 classes is never read as if it were 200.
 */
const MAGIC = 'TINYIMG1'
const VERSION = 1
const HEADER_BYTES = 64

export interface CacheHeader {
  count: number
  height: number
  width: number
  fingerprint: string
}

/** sha256 over `relative path \t label \t size` of each sample, relative to `root` (moving the dataset keeps the cache). */
export function samplesFingerprint(samples: Sample[], root: string): string {
  const h = createHash('sha256')
  for (const s of samples) h.update(`${path.relative(root, s.path)}\t${s.label}\t${statSync(s.path).size}\n`)
  return h.digest('hex')
}

function encodeHeader(h: CacheHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES)
  b.write(MAGIC, 0, 'latin1')
  b.writeUInt32LE(VERSION, 8)
  b.writeUInt32LE(h.count, 12)
  b.writeUInt32LE(h.height, 16)
  b.writeUInt32LE(h.width, 20)
  b.writeUInt32LE(3, 24)
  Buffer.from(h.fingerprint, 'hex').copy(b, 32)
  return b
}

/** Reads and checks the header; returns a reason instead of a header when the file is not a usable cache. */
export function readCacheHeader(file: string): CacheHeader | string {
  if (!existsSync(file)) return `${file}: no cache file`
  const fd = openSync(file, 'r')
  try {
    const b = Buffer.alloc(HEADER_BYTES)
    if (readSync(fd, b, 0, HEADER_BYTES, 0) !== HEADER_BYTES) return `${file}: shorter than the ${HEADER_BYTES}-byte header`
    if (b.toString('latin1', 0, 8) !== MAGIC) return `${file}: not a tiny-imagenet-data cache (bad magic)`
    if (b.readUInt32LE(8) !== VERSION) return `${file}: cache version ${b.readUInt32LE(8)}, expected ${VERSION}`
    const h: CacheHeader = { count: b.readUInt32LE(12), height: b.readUInt32LE(16), width: b.readUInt32LE(20), fingerprint: b.toString('hex', 32, 64) }
    if (b.readUInt32LE(24) !== 3) return `${file}: ${b.readUInt32LE(24)} channels, expected 3`
    const expected = HEADER_BYTES + 4 * h.count + h.count * h.height * h.width * 3
    const actual = fstatSync(fd).size
    if (actual !== expected) return `${file}: ${actual} bytes, header implies ${expected} (truncated or corrupt)`
    return h
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes a cache atomically: to `<file>.tmp-<pid>` first, renamed over `file` once complete, so readers never see a
 * half-written cache. `pixels` holds count*height*width*3 bytes in sample order.
 */
export function writeCache(file: string, header: CacheHeader, labels: Int32Array, pixels: Uint8Array): void {
  if (labels.length !== header.count || pixels.length !== header.count * header.height * header.width * 3) {
    throw new Error(`writeCache: ${labels.length} labels / ${pixels.length} pixel bytes do not match ${header.count} images of ${header.width}x${header.height}`)
  }
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, encodeHeader(header))
    writeSync(fd, new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength))
    for (let off = 0; off < pixels.length; off += 1 << 28) writeSync(fd, pixels.subarray(off, Math.min(off + (1 << 28), pixels.length)))
  } catch (e) {
    closeSync(fd)
    unlinkSync(tmp)
    throw e
  }
  closeSync(fd)
  renameSync(tmp, file)
}

/**
 * Loads a cache into a SharedArrayBuffer (workers read it without copies). Throws naming the file when the header is
 * invalid or its fingerprint differs from `fingerprint`.
 */
export function readCache(file: string, fingerprint: string): { header: CacheHeader; labels: Int32Array; pixels: Uint8Array } {
  const h = readCacheHeader(file)
  if (typeof h === 'string') throw new Error(h)
  if (h.fingerprint !== fingerprint) throw new Error(`${file}: built for a different sample list (fingerprint ${h.fingerprint.slice(0, 12)}…, expected ${fingerprint.slice(0, 12)}…)`)
  const fd = openSync(file, 'r')
  try {
    const labels = new Int32Array(h.count)
    readSync(fd, new Uint8Array(labels.buffer), 0, labels.byteLength, HEADER_BYTES)
    const pixels = new Uint8Array(new SharedArrayBuffer(h.count * h.height * h.width * 3))
    let off = 0
    while (off < pixels.length) {
      const n = readSync(fd, pixels, off, Math.min(pixels.length - off, 1 << 28), HEADER_BYTES + labels.byteLength + off)
      if (n <= 0) throw new Error(`${file}: unexpected end of file`)
      off += n
    }
    return { header: h, labels, pixels }
  } finally {
    closeSync(fd)
  }
}
