import { type CheckpointValue, HostTensor } from './host-tensor'

/** Where a tensor's bytes went: torch's persistent id fields. */
export interface StorageRef {
  storageType: string // 'FloatStorage'
  key: string
  numel: number
}

const INT_KEY = /^(0|-?[1-9]\d{0,15})$/u

/**
 * Pickles (protocol 2) a checkpoint value with tensors as `torch._utils._rebuild_tensor_v2` calls on persistent storages,
 * the exact shape torch.save produces, so `torch.load` needs no custom code. Internal: use `writePth`.
 */
export function writePickle(value: CheckpointValue, addStorage: (t: HostTensor) => StorageRef): Uint8Array {
  const out: number[] = []
  const enc = new TextEncoder()
  const byte = (b: number) => out.push(b)
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff)
  const text = (s: string) => {
    for (const b of enc.encode(s)) out.push(b)
  }
  const str = (s: string) => {
    const b = enc.encode(s)
    byte(0x58) // BINUNICODE
    u32(b.length)
    for (const x of b) out.push(x)
  }
  const global = (module: string, name: string) => {
    byte(0x63) // GLOBAL
    text(`${module}\n${name}\n`)
  }
  const int = (v: number | bigint) => {
    if (typeof v === 'number' && v >= 0 && v < 256) byte(0x4b), byte(v) // BININT1
    else if (typeof v === 'number' && v >= -(2 ** 31) && v < 2 ** 31) byte(0x4a), u32(v >>> 0) // BININT
    else {
      // LONG1: little-endian two's complement
      let x = BigInt(v)
      const bytes: number[] = []
      while (true) {
        bytes.push(Number(x & 0xffn))
        const last = x
        x >>= 8n
        if ((x === 0n && (bytes[bytes.length - 1] ?? 0) < 0x80) || (x === -1n && (bytes[bytes.length - 1] ?? 0) >= 0x80)) break
        if (x === last) break
      }
      byte(0x8a)
      byte(bytes.length)
      out.push(...bytes)
    }
  }
  const float = (v: number) => {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, v, false)
    byte(0x47) // BINFLOAT
    out.push(...b)
  }
  const tuple = (items: (() => void)[]) => {
    byte(0x28) // MARK
    for (const f of items) f()
    byte(0x74) // TUPLE
  }
  const tensor = (t: HostTensor) => {
    const ref = addStorage(t)
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1))
    global('torch._utils', '_rebuild_tensor_v2')
    tuple([
      () => {
        tuple([() => str('storage'), () => global('torch', ref.storageType), () => str(ref.key), () => str('cpu'), () => int(ref.numel)])
        byte(0x51) // BINPERSID
      },
      () => int(0),
      () => tuple(t.shape.map((d) => () => int(d))),
      () => tuple(stride.map((d) => () => int(d))),
      () => byte(0x89), // requires_grad False
      () => {
        global('collections', 'OrderedDict')
        byte(0x29) // EMPTY_TUPLE
        byte(0x52) // REDUCE
      },
    ])
    byte(0x52) // REDUCE
  }
  const write = (v: CheckpointValue, path: string): void => {
    if (v === null) byte(0x4e)
    else if (v === true) byte(0x88)
    else if (v === false) byte(0x89)
    else if (typeof v === 'bigint') int(v)
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) int(v)
      else float(v)
    } else if (typeof v === 'string') str(v)
    else if (v instanceof HostTensor) tensor(v)
    else if (v instanceof Uint8Array) {
      global('_codecs', 'encode')
      let latin1 = ''
      for (const b of v) latin1 += String.fromCharCode(b)
      tuple([() => str(latin1), () => str('latin1')])
      byte(0x52)
    } else if (Array.isArray(v)) {
      byte(0x5d) // EMPTY_LIST
      if (v.length > 0) {
        byte(0x28)
        v.forEach((x, i) => write(x, `${path}[${i}]`))
        byte(0x65) // APPENDS
      }
    } else if (typeof v === 'object') {
      byte(0x7d) // EMPTY_DICT
      const keys = Object.keys(v)
      if (keys.length > 0) {
        byte(0x28)
        for (const k of keys) {
          if (INT_KEY.test(k)) int(Number(k))
          else str(k)
          write(v[k] as CheckpointValue, `${path}.${k}`)
        }
        byte(0x75) // SETITEMS
      }
    } else throw new Error(`writePth: cannot pickle ${typeof v} at ${path}`)
  }
  byte(0x80)
  byte(2) // PROTO 2
  write(value, '')
  byte(0x2e) // STOP
  return Uint8Array.from(out)
}
