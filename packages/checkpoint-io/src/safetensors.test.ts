import { describe, expect, it } from 'vitest'
import { HostTensor } from './host-tensor'
import { decodeSafetensors, encodeSafetensors } from './safetensors'

const concat = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks))

describe('safetensors', () => {
  it('round-trips dtypes, shapes and metadata with an 8-byte aligned header', () => {
    const tensors = {
      a: new HostTensor('float32', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6])),
      n: new HostTensor('int64', [2], BigInt64Array.from([-(2n ** 40n), 7n])),
      h: new HostTensor('float16', [2], Uint16Array.from([0x3c00, 0xc000])), // 1.0, -2.0
      e: new HostTensor('float32', [0, 4], new Float32Array(0)),
    }
    const bytes = concat(encodeSafetensors(tensors, { format: 'pt', note: 'ü' }))
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    expect(headerLen % 8).toBe(0)
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, { data_offsets: number[]; dtype: string }>
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] })
    expect(header.n?.dtype).toBe('I64')
    const { tensors: back, metadata } = decodeSafetensors(bytes)
    expect(metadata).toEqual({ format: 'pt', note: 'ü' })
    expect(Object.keys(back)).toEqual(['a', 'n', 'h', 'e'])
    expect([...(back.a?.data ?? [])]).toEqual([1, 2, 3, 4, 5, 6])
    expect([...(back.n?.data ?? [])]).toEqual([-(2n ** 40n), 7n])
    expect([...(back.h?.toFloat32() ?? [])]).toEqual([1, -2])
    expect(back.e?.shape).toEqual([0, 4])
  })

  it('names the file and tensor for truncated or inconsistent files', () => {
    const bytes = concat(encodeSafetensors({ w: new HostTensor('float32', [4], new Float32Array(4)) }))
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 1), 'm.safetensors')).toThrow(/m\.safetensors: tensor 'w' bytes \[0, 16\) are outside the data \(15 bytes; truncated\?\)/)
    expect(() => decodeSafetensors(bytes.subarray(0, 20), 'm.safetensors')).toThrow(/header length \d+ exceeds the file size 20/)
    const bad = (header: object) => {
      const json = new TextEncoder().encode(JSON.stringify(header))
      const prefix = new Uint8Array(8)
      new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true)
      return concat([prefix, json, new Uint8Array(32)])
    }
    expect(() => decodeSafetensors(bad({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }), 'x')).toThrow(/tensor 'w' F32\[3\] needs 12 bytes, offsets give 16/)
    expect(() => decodeSafetensors(bad({ w: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }), 'x')).toThrow(/unsupported dtype Q7/)
    expect(() =>
      decodeSafetensors(bad({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), 'x'),
    ).toThrow(/'a' and 'b' overlap/)
  })
})
