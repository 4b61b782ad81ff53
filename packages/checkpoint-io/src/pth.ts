import { HostTensor, type CheckpointValue, type DType, allocTensorData, dtypeSize, typedArrayFromBytes } from './host-tensor'
import { py, type PyCallable, PyObject, unpickle, unpickleWithEnd } from './pickle-reader'
import { writePickle } from './pickle-writer'
import { readZip, writeZip } from './_zip'

// torch.save's zip format (torch/serialization.py `_save`, `_load`; caffe2/serialize/inline_container.cc):
//   <archive>/data.pkl     pickle (protocol 2) of the object; tensors are `torch._utils._rebuild_tensor_v2(storage, …)`
//                          with storages as persistent ids ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
//   <archive>/data/<key>   raw little-endian storage bytes
//   <archive>/version      "3\n"
// <archive> is any folder name (torch 1.13 uses the file's stem, torch 2 uses "archive"); readers take it from data.pkl.

const STORAGE_DTYPES: Record<string, DType> = {
  DoubleStorage: 'float64', FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', LongStorage: 'int64',
  IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
}
const DTYPE_STORAGES = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>

class StorageType implements PyCallable {
  constructor(readonly pyName: string, readonly dtype: DType) {}
  call(): never {
    throw new Error(`${this.pyName}(...) is not supported in checkpoints`)
  }
}

/** numpy.dtype('f8', False, True) plus its BUILD state (byte order), just enough for numpy scalars. */
class NumpyDType extends PyObject {
  readonly pyName = 'numpy.dtype'
  byteOrder = '<'
  constructor(readonly spec: string) {
    super()
  }
  setState(state: unknown[]): void {
    if (typeof state[1] === 'string') this.byteOrder = state[1]
  }
}

/** `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar such as np.float64(71.3), common as `best_acc1`. */
function numpyScalar(dtype: unknown, data: unknown, file: string): number | bigint | boolean {
  if (!(dtype instanceof NumpyDType) || !(data instanceof Uint8Array)) throw new Error(`${file}: malformed numpy scalar`)
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const le = dtype.byteOrder !== '>'
  const read: Record<string, () => number | bigint | boolean> = {
    f8: () => view.getFloat64(0, le), f4: () => view.getFloat32(0, le), i8: () => view.getBigInt64(0, le), u8: () => view.getBigUint64(0, le),
    i4: () => view.getInt32(0, le), u4: () => view.getUint32(0, le), i2: () => view.getInt16(0, le), u2: () => view.getUint16(0, le),
    i1: () => view.getInt8(0), u1: () => view.getUint8(0), b1: () => view.getUint8(0) !== 0,
  }
  const f = read[dtype.spec]
  if (!f || data.byteLength < Number(dtype.spec.slice(1))) throw new Error(`${file}: numpy scalar of dtype '${dtype.spec}' is not supported`)
  const v = f()
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
}

interface Storage {
  dtype: DType
  data: ReturnType<typeof typedArrayFromBytes>
}

/** Copies `size` elements laid out by `stride` from `storage` at `offset` into a contiguous tensor. */
function rebuildTensor(storage: Storage, offset: number, size: number[], stride: number[], what: string): HostTensor {
  const n = size.reduce((a, b) => a * b, 1)
  const contiguous = size.every((_, i) => stride[i] === size.slice(i + 1).reduce((a, b) => a * b, 1) || (size[i] ?? 0) <= 1)
  if (n === 0) return new HostTensor(storage.dtype, size, allocTensorData(storage.dtype, 0))
  let maxIndex = offset
  size.forEach((s, i) => (maxIndex += (s - 1) * (stride[i] ?? 0)))
  if (offset < 0 || maxIndex >= storage.data.length) throw new Error(`${what}: tensor view runs past its storage (${storage.data.length} elements)`)
  if (contiguous) return new HostTensor(storage.dtype, size, storage.data.slice(offset, offset + n))
  const out = allocTensorData(storage.dtype, n)
  const index = new Array<number>(size.length).fill(0)
  for (let i = 0; i < n; i++) {
    let src = offset
    for (let d = 0; d < size.length; d++) src += (index[d] ?? 0) * (stride[d] ?? 0)
    // Element copy between typed arrays of the same dtype (bigint or number): the cast only silences the union.
    ;(out as unknown as number[])[i] = (storage.data as unknown as number[])[src] as number
    for (let d = size.length - 1; d >= 0; d--) {
      index[d] = (index[d] ?? 0) + 1
      if ((index[d] ?? 0) < (size[d] ?? 0)) break
      index[d] = 0
    }
  }
  return new HostTensor(storage.dtype, size, out)
}

function intList(v: unknown, what: string): number[] {
  const items = py.tupleItems(v)
  if (!items || !items.every((x) => typeof x === 'number')) throw new Error(`${what}: expected a tuple of ints`)
  return items as number[]
}

/** The globals a torch.save checkpoint of tensors, dicts and numbers needs, and nothing else. */
function safeGlobals(file: string, dryRun = false): (module: string, name: string) => PyCallable | undefined {
  const rebuildV2: PyCallable = {
    pyName: 'torch._utils._rebuild_tensor_v2',
    call([storage, offset, size, stride]) {
      if (dryRun) return null
      if (typeof storage !== 'object' || storage === null || !('dtype' in storage)) throw new Error(`${file}: _rebuild_tensor_v2 without a storage`)
      return rebuildTensor(storage as Storage, Number(offset), intList(size, file), intList(stride, file), file)
    },
  }
  const rebuildParameter: PyCallable = { pyName: 'torch._utils._rebuild_parameter', call: ([data]) => data }
  const table: Record<string, PyCallable> = {
    'collections.OrderedDict': py.dict(),
    'torch._utils._rebuild_tensor_v2': rebuildV2,
    'torch._utils._rebuild_parameter': rebuildParameter,
    'torch._utils._rebuild_parameter_with_state': { pyName: 'torch._utils._rebuild_parameter_with_state', call: ([data]) => data },
    'torch.Size': { pyName: 'torch.Size', call: ([dims]) => py.tupleItems(dims) ?? [] },
    'torch.device': { pyName: 'torch.device', call: ([type, index]) => (typeof index === 'number' ? `${String(type)}:${index}` : String(type)) },
    'numpy.dtype': { pyName: 'numpy.dtype', call: ([spec]) => new NumpyDType(String(spec)) },
    'numpy.core.multiarray.scalar': { pyName: 'numpy.core.multiarray.scalar', call: ([dtype, data]) => numpyScalar(dtype, data, file) },
    'numpy._core.multiarray.scalar': { pyName: 'numpy._core.multiarray.scalar', call: ([dtype, data]) => numpyScalar(dtype, data, file) },
    // Protocol 2 has no bytes opcode: Python 3 pickles bytes as _codecs.encode(text, 'latin1').
    '_codecs.encode': {
      pyName: '_codecs.encode',
      call([text, encoding]) {
        if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new Error(`${file}: _codecs.encode only for latin1 bytes`)
        return Uint8Array.from(text, (c) => c.charCodeAt(0))
      },
    },
  }
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) table[`torch.${name}`] = new StorageType(`torch.${name}`, dtype)
  return (module, name) => table[`${module}.${name}`]
}

/**
 * Reads a `torch.save` zip checkpoint (`.pth`, `.pth.tar`, `.pt`) without Python. Tensors become `HostTensor`s,
 * dicts plain objects (int keys as strings), tuples arrays. Refuses pickles that name any global outside a small
 * allow-list (see README), naming the global. Also reads the legacy pre-1.6 (non-zip) format.
 *
 * @example
 * const ckpt = readPth(readFileSync('checkpoint.pth.tar'), 'checkpoint.pth.tar') as { state_dict: StateDict }
 * ckpt.state_dict['conv1.weight'].shape  // [64, 3, 7, 7]
 */
export function readPth(bytes: Uint8Array, fileName = 'checkpoint.pth'): CheckpointValue {
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    if (bytes[0] === 0x80) return readLegacyPth(bytes, fileName)
    throw new Error(`${fileName}: neither a torch.save zip archive nor a legacy torch.save file`)
  }
  const entries = readZip(bytes, fileName)
  const pklName = [...entries.keys()].find((k) => /^[^/]+\/data\.pkl$/u.test(k) || k === 'data.pkl')
  if (!pklName) throw new Error(`${fileName}: no <archive>/data.pkl record`)
  const prefix = pklName.slice(0, -'data.pkl'.length)
  const storages = new Map<string, Storage>()
  return unpickle(entries.get(pklName) as Uint8Array, {
    fileName,
    findGlobal: safeGlobals(fileName),
    persistentLoad(pid) {
      const items = Array.isArray(pid) ? pid : []
      const [kind, type, key, , numel] = items
      if (kind !== 'storage' || !(type instanceof StorageType) || typeof key !== 'string')
        throw new Error(`${fileName}: unsupported persistent id ${JSON.stringify(String(kind))}`)
      let storage = storages.get(key)
      if (!storage) {
        const record = entries.get(`${prefix}data/${key}`)
        if (!record) throw new Error(`${fileName}: missing storage record ${prefix}data/${key}`)
        const expected = Number(numel) * dtypeSize(type.dtype)
        if (record.byteLength < expected) throw new Error(`${fileName}: storage ${key} has ${record.byteLength} bytes, expected ${expected}`)
        storage = { dtype: type.dtype, data: typedArrayFromBytes(type.dtype, record.subarray(0, expected)) }
        storages.set(key, storage)
      }
      return storage
    },
  })
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn

/**
 * The legacy format (torch < 1.6, or `_use_new_zipfile_serialization=False`; torch/serialization.py `_legacy_save`):
 * pickles of the magic number, protocol version and sys_info, then the object (storages as persistent ids
 * `('storage', type, key, location, numel, view_metadata)`), then the sorted storage keys, then each storage as
 * int64 element count + raw bytes. The storages come after the object, so the object pickle is parsed twice: once to
 * find where it ends and which dtype each storage has, once with the data.
 */
function readLegacyPth(bytes: Uint8Array, fileName: string): CheckpointValue {
  const noGlobals = { fileName, findGlobal: () => undefined }
  let off = 0
  const next = (options: Parameters<typeof unpickleWithEnd>[1] = noGlobals) => {
    const { value, end } = unpickleWithEnd(bytes.subarray(off), options)
    off += end
    return value
  }
  const magic = next()
  if (magic !== LEGACY_MAGIC) throw new Error(`${fileName}: not a torch.save file (bad magic number)`)
  if (next() !== 1001) throw new Error(`${fileName}: unsupported legacy torch.save protocol version`)
  const sysInfo = next() as { little_endian?: boolean }
  if (sysInfo?.little_endian !== true) throw new Error(`${fileName}: big-endian legacy checkpoints are not supported`)
  const objectStart = off
  const dtypes = new Map<string, DType>()
  const pid = (items: unknown[]): { kind: unknown; type: unknown; key: unknown; numel: unknown } => {
    const [kind, type, key, , numel, view] = items
    if (view !== null && view !== undefined) throw new Error(`${fileName}: legacy storage views are not supported`)
    return { kind, type, key, numel }
  }
  next({
    fileName,
    findGlobal: safeGlobals(fileName, true),
    persistentLoad(id) {
      const { kind, type, key } = pid(Array.isArray(id) ? id : [])
      if (kind !== 'storage' || !(type instanceof StorageType) || typeof key !== 'string') throw new Error(`${fileName}: unsupported persistent id`)
      dtypes.set(key, type.dtype)
      return null
    },
  })
  const keys = next()
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new Error(`${fileName}: bad legacy storage key list`)
  const storages = new Map<string, Storage>()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (const key of keys as string[]) {
    const dtype = dtypes.get(key)
    if (!dtype) throw new Error(`${fileName}: storage ${key} is listed but not used`)
    if (off + 8 > bytes.length) throw new Error(`${fileName}: truncated before storage ${key}`)
    const numel = Number(view.getBigInt64(off, true))
    const nbytes = numel * dtypeSize(dtype)
    if (off + 8 + nbytes > bytes.length) throw new Error(`${fileName}: storage ${key} runs past the end of the file (truncated?)`)
    storages.set(key, { dtype, data: typedArrayFromBytes(dtype, bytes.subarray(off + 8, off + 8 + nbytes)) })
    off += 8 + nbytes
  }
  off = objectStart
  return next({
    fileName,
    findGlobal: safeGlobals(fileName),
    persistentLoad(id) {
      const { key } = pid(Array.isArray(id) ? id : [])
      const storage = storages.get(String(key))
      if (!storage) throw new Error(`${fileName}: missing legacy storage ${String(key)}`)
      return storage
    },
  })
}

/**
 * Serialises a value the way `torch.save` does (zip + pickle protocol 2), so `torch.load` reads it with no extra code.
 * Objects become dicts (keys that are decimal integers become Python ints, as in optimizer `state`), arrays lists,
 * integral numbers ints, other numbers floats, `HostTensor`s tensors. Returns the archive as chunks.
 *
 * @example
 * const chunks = writePth({ epoch: 1, state_dict: { 'fc.bias': new HostTensor('float32', [2], new Float32Array(2)) } })
 * writeFileSync('checkpoint.pth', Buffer.concat(chunks))  // python: torch.load('checkpoint.pth')
 */
export function writePth(value: CheckpointValue, archiveName = 'archive'): Uint8Array[] {
  const storages: Uint8Array[] = []
  const pickle = writePickle(value, (tensor) => {
    const key = String(storages.length)
    storages.push(tensor.bytes())
    return { storageType: DTYPE_STORAGES[tensor.dtype], key, numel: tensor.size }
  })
  const enc = new TextEncoder()
  return writeZip([
    { name: `${archiveName}/data.pkl`, data: pickle },
    { name: `${archiveName}/byteorder`, data: enc.encode('little') },
    ...storages.map((data, i) => ({ name: `${archiveName}/data/${i}`, data })),
    { name: `${archiveName}/version`, data: enc.encode('3\n') },
  ])
}
