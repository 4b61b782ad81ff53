// A minimal protobuf (proto3) encoder and decoder: varints, 64-bit and 32-bit fixed fields, length-delimited fields.
// Enough for TensorBoard's Event/Summary messages; avoids a dependency for ~100 lines.

export class ProtoWriter {
  private readonly parts: number[] = []

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v))
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80)
      x >>= 7n
    }
    this.parts.push(Number(x))
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire)
  }

  /** int32/int64/uint/enum/bool (wire type 0); negative numbers as 10-byte two's complement like protobuf. */
  int(field: number, v: number | bigint | boolean): this {
    this.tag(field, 0)
    this.varint(typeof v === 'boolean' ? (v ? 1 : 0) : v)
    return this
  }

  double(field: number, v: number): this {
    this.tag(field, 1)
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, v, true)
    this.parts.push(...b)
    return this
  }

  float(field: number, v: number): this {
    this.tag(field, 5)
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, v, true)
    this.parts.push(...b)
    return this
  }

  bytes(field: number, v: Uint8Array): this {
    this.tag(field, 2)
    this.varint(v.length)
    for (const x of v) this.parts.push(x)
    return this
  }

  string(field: number, v: string): this {
    return this.bytes(field, new TextEncoder().encode(v))
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish())
  }

  packedDoubles(field: number, values: readonly number[]): this {
    const b = new Uint8Array(8 * values.length)
    const view = new DataView(b.buffer)
    values.forEach((v, i) => view.setFloat64(8 * i, v, true))
    return this.bytes(field, b)
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

export type ProtoField = { field: number; wire: 0; value: bigint } | { field: number; wire: 1 | 5; value: Uint8Array } | { field: number; wire: 2; value: Uint8Array }

/** Splits a message into its fields (no schema): what the read-back helpers need to find scalars. */
export function readProtoFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = []
  let p = 0
  const varint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      if (p >= buf.length) throw new Error('protobuf: truncated varint')
      const b = buf[p++] as number
      result |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return result
      shift += 7n
    }
  }
  while (p < buf.length) {
    const key = Number(varint())
    const field = key >>> 3
    const wire = key & 7
    if (wire === 0) out.push({ field, wire, value: varint() })
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4
      out.push({ field, wire, value: buf.subarray(p, p + n) })
      p += n
    } else if (wire === 2) {
      const n = Number(varint())
      if (p + n > buf.length) throw new Error('protobuf: truncated field')
      out.push({ field, wire, value: buf.subarray(p, p + n) })
      p += n
    } else throw new Error(`protobuf: unsupported wire type ${wire}`)
  }
  return out
}
