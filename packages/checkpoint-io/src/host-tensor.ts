/**
 * Tensors as plain typed arrays, so checkpoint files can be read and written without TensorFlow.js.
 * Names follow safetensors (`F32`, `I64`…) on disk and tfjs-like lower-case names in memory.
 */
export type DType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'

export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array // float16 / bfloat16 bit patterns: decode with `toFloat32()`
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array // uint8 and bool

const BYTES: Record<DType, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
}

/** Bytes per element of `dtype`. */
export function dtypeSize(dtype: DType): number {
  return BYTES[dtype]
}

/** A contiguous, row-major tensor in host memory with PyTorch's dtype vocabulary. */
export class HostTensor {
  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: TensorData,
  ) {
    const n = shape.reduce((a, b) => a * b, 1)
    if (data.length !== n) throw new Error(`HostTensor: shape [${shape.join(', ')}] needs ${n} elements, data has ${data.length}`)
  }

  get size(): number {
    return this.data.length
  }

  /** Little-endian bytes as stored in safetensors and torch storages (a view when possible, no copy). */
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength)
  }

  /**
   * Values as float32 (float16/bfloat16 decoded, int64 converted; exact for |v| < 2^24).
   * @example new HostTensor('float32', [2], new Float32Array([1, 2])).toFloat32()  // Float32Array [1, 2]
   */
  toFloat32(): Float32Array {
    if (this.data instanceof Float32Array) return this.data
    const out = new Float32Array(this.size)
    const d = this.data
    if (this.dtype === 'float16') for (let i = 0; i < out.length; i++) out[i] = halfToFloat((d as Uint16Array)[i] ?? 0)
    else if (this.dtype === 'bfloat16') {
      const u = new Uint32Array(out.buffer)
      for (let i = 0; i < out.length; i++) u[i] = ((d as Uint16Array)[i] ?? 0) << 16
    } else for (let i = 0; i < out.length; i++) out[i] = Number(d[i])
    return out
  }

  /** Values as int32; throws (naming `what`) when an int64 value does not fit, instead of wrapping silently. */
  toInt32(what = 'tensor'): Int32Array {
    if (this.data instanceof Int32Array) return this.data
    const out = new Int32Array(this.size)
    for (let i = 0; i < out.length; i++) {
      const v = Number(this.data[i])
      if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648) throw new Error(`${what}: value ${this.data[i]} at index ${i} does not fit int32`)
      out[i] = v
    }
    return out
  }
}

/** Makes a zero-copy typed-array view of little-endian `bytes` (copies once when unaligned). */
export function typedArrayFromBytes(dtype: DType, bytes: Uint8Array): TensorData {
  const size = BYTES[dtype]
  if (bytes.byteLength % size !== 0) throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`)
  // Copy when unaligned (typed arrays need offset % size == 0). Not `bytes.slice()`: on a Node Buffer that is a view.
  const aligned = bytes.byteOffset % size === 0 ? bytes : Uint8Array.prototype.slice.call(bytes)
  const { buffer, byteOffset } = aligned
  const n = bytes.byteLength / size
  switch (dtype) {
    case 'float64':
      return new Float64Array(buffer, byteOffset, n)
    case 'float32':
      return new Float32Array(buffer, byteOffset, n)
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, n)
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n)
    case 'int32':
      return new Int32Array(buffer, byteOffset, n)
    case 'int16':
      return new Int16Array(buffer, byteOffset, n)
    case 'int8':
      return new Int8Array(buffer, byteOffset, n)
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, n)
  }
}

/** Allocates a zeroed typed array for `n` elements of `dtype`. */
export function allocTensorData(dtype: DType, n: number): TensorData {
  return typedArrayFromBytes(dtype, new Uint8Array(n * BYTES[dtype]))
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 31) return frac ? Number.NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** Values that checkpoints hold: JSON-like trees with tensors (and Python bytes) as leaves. */
export type CheckpointValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | HostTensor
  | CheckpointValue[]
  | { [key: string]: CheckpointValue }

/** A state dict: PyTorch key -> tensor, in PyTorch order. */
export type StateDict = Record<string, HostTensor>
