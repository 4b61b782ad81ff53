/** What a checkpoint file holds, told from its first bytes rather than its name. */
export type CheckpointContent = 'pth-zip' | 'pth-legacy' | 'safetensors'

// torch.save's legacy format opens with the pickled magic number 0x1950a86a20f9469cfc6c: PROTO 2, then LONG1 of 10
// bytes (torch/serialization.py MAGIC_NUMBER). Zip archives open with a local file header "PK\x03\x04".
const LEGACY_PREFIX = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

/**
 * Tells a checkpoint's format from its content: torch.save zip (`.pth`, `.pth.tar`, `.pt` from torch >= 1.6), the
 * legacy torch.save format (torch < 1.6 or `_use_new_zipfile_serialization=False`), or safetensors (an 8-byte header
 * length, then a JSON object). Returns undefined for anything else. File names are not consulted: `checkpoint.pth`
 * is often a legacy file, and `.bin` is used for all three.
 *
 * @example
 * sniffCheckpoint(readFileSync('resnet18-f37072fd.pth'))  // 'pth-zip'
 */
export function sniffCheckpoint(bytes: Uint8Array): CheckpointContent | undefined {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'pth-zip'
  if (bytes.length >= LEGACY_PREFIX.length && LEGACY_PREFIX.every((b, i) => bytes[i] === b)) return 'pth-legacy'
  // A header length below 2^48 and a '{': a truncated safetensors file still counts, so its reader can say so.
  if (bytes.length >= 9 && bytes[6] === 0 && bytes[7] === 0 && bytes[8] === 0x7b) return 'safetensors'
  return undefined
}

/** Why bytes that `sniffCheckpoint` does not recognise are no checkpoint, for an error message. */
export function describeUnknownContent(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'empty file (0 bytes), not a checkpoint'
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ')
  return `not a checkpoint: neither a torch.save file (zip or legacy) nor safetensors (first bytes ${head})`
}
