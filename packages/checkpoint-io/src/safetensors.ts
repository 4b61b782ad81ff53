import { type DType, HostTensor, dtypeSize, typedArrayFromBytes } from './host-tensor'

// safetensors (huggingface/safetensors, docs "Format"): u64 little-endian header length N, N bytes of JSON
// { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": { str: str } },
// then the tensor bytes; offsets are relative to the end of the header. The header is padded with spaces to 8 bytes
// so every tensor of 8-byte elements stays aligned.

const TO_ST: Record<DType, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
}
const FROM_ST = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k])) as Record<string, DType>

export interface SafetensorsContent {
  tensors: Record<string, HostTensor>
  metadata: Record<string, string>
}

/**
 * Encodes tensors (in insertion order) and string metadata as a safetensors file, returned as chunks (no tensor copies).
 *
 * @example
 * const chunks = encodeSafetensors({ 'fc.bias': new HostTensor('float32', [2], new Float32Array([1, 2])) }, { format: 'pt' })
 * writeFileSync('weights.safetensors', Buffer.concat(chunks))  // python: safetensors.torch.load_file('weights.safetensors')
 */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata
  const chunks: Uint8Array[] = []
  let offset = 0
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.bytes()
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] }
    chunks.push(bytes)
    offset += bytes.byteLength
  }
  let json = JSON.stringify(header)
  const enc = new TextEncoder()
  let headerBytes = enc.encode(json)
  const padded = Math.ceil(headerBytes.length / 8) * 8
  json += ' '.repeat(padded - headerBytes.length)
  headerBytes = enc.encode(json)
  const prefix = new Uint8Array(8)
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true)
  return [prefix, headerBytes, ...chunks]
}

/**
 * Decodes a safetensors file; tensors are views into `bytes` when aligned. Every structural problem (truncation,
 * overlapping or out-of-range offsets, shape/size disagreement, unknown dtype) throws naming the file and tensor.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(readFileSync('weights.safetensors'), 'weights.safetensors')
 */
export function decodeSafetensors(bytes: Uint8Array, fileName = 'file.safetensors'): SafetensorsContent {
  if (bytes.length < 8) throw new Error(`${fileName}: too short for a safetensors file (${bytes.length} bytes)`)
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true))
  if (n > bytes.length - 8) throw new Error(`${fileName}: header length ${n} exceeds the file size ${bytes.length} (truncated or not safetensors)`)
  let header: Record<string, unknown>
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>
  } catch (e) {
    throw new Error(`${fileName}: safetensors header is not valid JSON (${(e as Error).message})`)
  }
  const data = bytes.subarray(8 + n)
  const tensors: Record<string, HostTensor> = {}
  let metadata: Record<string, string> = {}
  const ranges: [number, number, string][] = []
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>
      continue
    }
    const { dtype, shape, data_offsets: offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] }
    const dt = FROM_ST[dtype]
    if (!dt) throw new Error(`${fileName}: tensor '${name}' has unsupported dtype ${dtype}`)
    if (!Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) throw new Error(`${fileName}: tensor '${name}' has a malformed entry`)
    const [begin, end] = offsets
    const expected = shape.reduce((a, b) => a * b, 1) * dtypeSize(dt)
    if (end - begin !== expected) throw new Error(`${fileName}: tensor '${name}' ${dtype}[${shape.join(',')}] needs ${expected} bytes, offsets give ${end - begin}`)
    if (begin < 0 || end > data.length) throw new Error(`${fileName}: tensor '${name}' bytes [${begin}, ${end}) are outside the data (${data.length} bytes; truncated?)`)
    ranges.push([begin, end, name])
    Object.defineProperty(tensors, name, {
      value: new HostTensor(dt, shape, typedArrayFromBytes(dt, data.subarray(begin, end))),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  ranges.sort((a, b) => a[0] - b[0])
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1] as [number, number, string]
    const cur = ranges[i] as [number, number, string]
    if (cur[0] < prev[1]) throw new Error(`${fileName}: tensors '${prev[2]}' and '${cur[2]}' overlap`)
  }
  return { tensors, metadata }
}
