import { type CheckpointValue, HostTensor } from './host-tensor'

/**
 * A safe unpickler for the pickles inside torch.save archives (protocols 2-5).
 *
 * Python's pickle calls whatever global the stream names (`os.system`, `builtins.eval`…); this one only resolves globals
 * the caller allows (`findGlobal`) and throws, naming the global, for anything else. Nothing is ever executed: allowed
 * globals are plain JS functions that build values.
 */

/** A Python callable or class the stream may name, implemented in JS. */
export interface PyCallable {
  readonly pyName: string
  call(args: unknown[]): unknown
}

export interface UnpickleOptions {
  /** Resolves `module.name` to an allowed callable, or returns undefined to refuse it. */
  findGlobal(module: string, name: string): PyCallable | undefined
  /** Turns a persistent id (torch: `('storage', type, key, location, numel)`) into a value. */
  persistentLoad?(pid: unknown): unknown
  /** For error messages. */
  fileName?: string
}

/** An object an allowed callable made that accepts pickle's BUILD (`__setstate__`), e.g. numpy's dtype. */
export abstract class PyObject {
  abstract readonly pyName: string
  abstract setState(state: unknown[]): void
}

const MARK = Symbol('mark')

/** A Python dict under construction: keys in insertion order, any hashable key. Converted to a JS object at the end. */
class PyDict {
  readonly entries = new Map<string | number | bigint | boolean | null, unknown>()
}

class PyTuple {
  constructor(readonly items: unknown[]) {}
}

class PySet {
  constructor(readonly items: unknown[]) {}
}

/** Decodes a pickle into nested JS values; see `toCheckpointValue` for the mapping. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): CheckpointValue {
  return unpickleWithEnd(bytes, options).value
}

/** Like `unpickle`, and also returns where the pickle ended: files like the legacy torch.save format hold several. */
export function unpickleWithEnd(bytes: Uint8Array, options: UnpickleOptions): { value: CheckpointValue; end: number } {
  const file = options.fileName ?? 'pickle'
  try {
    return decode(bytes, options, file)
  } catch (e) {
    // Errors from allowed callables and from the JS engine (RangeError…) get the file name like the reader's own.
    const message = e instanceof Error ? e.message : String(e)
    if (message.startsWith(`${file}: `)) throw e
    throw new Error(`${file}: ${message}`, { cause: e })
  }
}

function decode(bytes: Uint8Array, options: UnpickleOptions, file: string): { value: CheckpointValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const stack: unknown[] = []
  const memo = new Map<number, unknown>()
  const latin1 = new TextDecoder('latin1')
  const utf8 = new TextDecoder('utf-8')
  let p = 0

  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg} (pickle byte ${p})`)
  }
  const need = (n: number) => {
    if (p + n > bytes.length) fail('unexpected end of pickle data (truncated file?)')
  }
  const u8 = () => (need(1), view.getUint8(p++))
  const u16 = () => (need(2), (p += 2), view.getUint16(p - 2, true))
  const u32 = () => (need(4), (p += 4), view.getUint32(p - 4, true))
  const i32 = () => (need(4), (p += 4), view.getInt32(p - 4, true))
  const u64 = () => {
    need(8)
    p += 8
    const v = view.getBigUint64(p - 8, true)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large')
    return Number(v)
  }
  const take = (n: number) => (need(n), (p += n), bytes.subarray(p - n, p))
  // A copy that is a plain Uint8Array even when `bytes` is a Node Buffer (whose slice() is a view).
  const copy = (b: Uint8Array) => Uint8Array.prototype.slice.call(b)
  const line = () => {
    const end = bytes.indexOf(10, p)
    if (end < 0) fail('unterminated text line')
    const s = latin1.decode(bytes.subarray(p, end))
    p = end + 1
    return s
  }
  const pop = (): unknown => (stack.length === 0 ? fail('stack underflow') : stack.pop())
  const top = (): unknown => (stack.length === 0 ? fail('stack underflow') : stack[stack.length - 1])
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK)
    if (i < 0) fail('MARK not found')
    const items = stack.splice(i)
    items.shift()
    return items
  }
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0
    let v = 0n
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] ?? 0)
    if ((b[b.length - 1] ?? 0) & 0x80) v -= 1n << BigInt(8 * b.length)
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }
  const resolveGlobal = (module: string, name: string) => {
    const g = options.findGlobal(module, name)
    if (!g)
      fail(`refusing to load global '${module}.${name}': not in the allow-list of safe globals (this file may try to run code; never torch.load it with weights_only=False unless you trust it)`)
    return g
  }
  const setItem = (target: unknown, key: unknown, value: unknown) => {
    if (!(target instanceof PyDict)) fail('SETITEM on a non-dict')
    const d = target as PyDict
    if (key !== null && !['string', 'number', 'bigint', 'boolean'].includes(typeof key)) fail(`unsupported dict key type ${describe(key)}`)
    d.entries.set(key as string | number | bigint | boolean | null, value)
  }
  const call = (fn: unknown, args: unknown): unknown => {
    if (!isCallable(fn)) fail(`REDUCE on ${describe(fn)}, which is not an allowed callable`)
    const list = args instanceof PyTuple ? args.items : fail('REDUCE arguments are not a tuple')
    return (fn as PyCallable).call(list as unknown[])
  }

  for (;;) {
    const op = u8()
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol > 5')
        break
      case 0x95: // FRAME
        u64()
        break
      case 0x2e: { // STOP
        const result = pop()
        return { value: toCheckpointValue(result, file), end: p }
      }
      case 0x28: // MARK
        stack.push(MARK)
        break
      case 0x4e: // NONE
        stack.push(null)
        break
      case 0x88: // NEWTRUE
        stack.push(true)
        break
      case 0x89: // NEWFALSE
        stack.push(false)
        break
      case 0x4b: // BININT1
        stack.push(u8())
        break
      case 0x4d: // BININT2
        stack.push(u16())
        break
      case 0x4a: // BININT
        stack.push(i32())
        break
      case 0x8a: // LONG1
        stack.push(longFromBytes(take(u8())))
        break
      case 0x8b: // LONG4
        stack.push(longFromBytes(take(u32())))
        break
      case 0x49: { // INT (text; protocol 0 bools are I00/I01)
        const s = line()
        stack.push(s === '00' ? false : s === '01' ? true : Number.parseInt(s, 10))
        break
      }
      case 0x4c: { // LONG (text)
        const v = BigInt(line().replace(/L$/u, ''))
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v)
        break
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8)
        stack.push(view.getFloat64(p, false))
        p += 8
        break
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()))
        break
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())))
        break
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())))
        break
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())))
        break
      case 0x54: // BINSTRING (Python 2 str: decoded as latin-1 text)
        stack.push(latin1.decode(take(i32())))
        break
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())))
        break
      case 0x42: // BINBYTES
        stack.push(copy(take(u32())))
        break
      case 0x43: // SHORT_BINBYTES
        stack.push(copy(take(u8())))
        break
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(copy(take(u64())))
        break
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict())
        break
      case 0x5d: // EMPTY_LIST
        stack.push([])
        break
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]))
        break
      case 0x8f: // EMPTY_SET
        stack.push(new PySet([]))
        break
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()))
        break
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]))
        break
      case 0x86: { // TUPLE2
        const b = pop()
        stack.push(new PyTuple([pop(), b]))
        break
      }
      case 0x87: { // TUPLE3
        const c = pop()
        const b = pop()
        stack.push(new PyTuple([pop(), b, c]))
        break
      }
      case 0x6c: // LIST
        stack.push(popMark())
        break
      case 0x64: { // DICT
        const items = popMark()
        const d = new PyDict()
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1])
        stack.push(d)
        break
      }
      case 0x91: // FROZENSET
        stack.push(new PySet(popMark()))
        break
      case 0x90: { // ADDITEMS
        const items = popMark()
        const s = top()
        if (!(s instanceof PySet)) fail('ADDITEMS on a non-set')
        for (const item of items) (s as PySet).items.push(item)
        break
      }
      case 0x61: { // APPEND
        const v = pop()
        const l = top()
        if (!Array.isArray(l)) fail('APPEND on a non-list')
        ;(l as unknown[]).push(v)
        break
      }
      case 0x65: { // APPENDS
        const items = popMark()
        const l = top()
        if (!Array.isArray(l)) fail('APPENDS on a non-list')
        for (const item of items) (l as unknown[]).push(item)
        break
      }
      case 0x73: { // SETITEM
        const v = pop()
        const k = pop()
        setItem(top(), k, v)
        break
      }
      case 0x75: { // SETITEMS
        const items = popMark()
        const d = top()
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1])
        break
      }
      case 0x30: // POP
        if (top() === MARK) popMark()
        else pop()
        break
      case 0x31: // POP_MARK
        popMark()
        break
      case 0x32: // DUP
        stack.push(top())
        break
      case 0x71: // BINPUT
        memo.set(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top())
        break
      case 0x70: // PUT
        memo.set(Number.parseInt(line(), 10), top())
        break
      case 0x94: // MEMOIZE
        memo.set(memo.size, top())
        break
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10)
        if (!memo.has(key)) fail(`memo key ${key} not found`)
        stack.push(memo.get(key))
        break
      }
      case 0x63: { // GLOBAL
        const module = line()
        const name = line()
        stack.push(resolveGlobal(module, name))
        break
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings')
        stack.push(resolveGlobal(module as string, name as string))
        break
      }
      case 0x52: { // REDUCE
        const args = pop()
        const fn = pop()
        stack.push(call(fn, args))
        break
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args), same allow-list
        const args = pop()
        const cls = pop()
        stack.push(call(cls, args))
        break
      }
      case 0x62: { // BUILD
        const state = pop()
        const obj = pop()
        // torch's state_dict is an OrderedDict whose `_metadata` attribute (module versions) arrives by BUILD; it is
        // dropped: load_state_dict treats missing metadata as the current version. Tensors carry no BUILD state.
        if (obj instanceof PyObject) obj.setState(state instanceof PyTuple ? state.items : [state])
        else if (!(obj instanceof PyDict || obj instanceof HostTensor)) fail(`BUILD on ${describe(obj)} is not supported`)
        stack.push(obj)
        break
      }
      case 0x50: // PERSID
      case 0x51: { // BINPERSID
        const pid = op === 0x50 ? line() : pop()
        if (!options.persistentLoad) fail('persistent id without a persistent_load')
        stack.push(options.persistentLoad?.(pid instanceof PyTuple ? pid.items : pid))
        break
      }
      default:
        fail(`unsupported or unsafe pickle opcode 0x${op.toString(16).padStart(2, '0')}`)
    }
  }
}

function isCallable(v: unknown): v is PyCallable {
  return typeof v === 'object' && v !== null && 'pyName' in v && 'call' in v
}

function describe(v: unknown): string {
  if (isCallable(v) || v instanceof PyObject) return v.pyName
  if (v instanceof PyDict) return 'a dict'
  if (v instanceof PyTuple) return 'a tuple'
  if (Array.isArray(v)) return 'a list'
  return v === null ? 'None' : typeof v
}

/** Helpers for allow-list entries. */
export const py = {
  /** `collections.OrderedDict` / `dict`: an empty dict (pairs from REDUCE args are added). */
  dict(): PyCallable {
    return {
      pyName: 'collections.OrderedDict',
      call(args) {
        const d = new PyDict()
        const items = args[0]
        if (Array.isArray(items))
          for (const pair of items) if (pair instanceof PyTuple) d.entries.set(pair.items[0] as string, pair.items[1])
        return d
      },
    }
  },
  tupleItems(v: unknown): unknown[] | undefined {
    return v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined
  },
}

/** Containers nested deeper than this are refused: no checkpoint needs it, and converting would exhaust the stack. */
export const MAX_PICKLE_DEPTH = 1000
/**
 * Refused above this many values counting every shared reference as a copy: a few hundred bytes of pickle can name
 * one list from two places, forty times over ("billion laughs"), and every consumer that walks the result (saving it
 * again, printing it) would then walk 2^40 values even though decoding keeps them shared.
 */
export const MAX_PICKLE_EXPANDED_VALUES = 10_000_000

/**
 * Python -> JS: dict -> object (keys as strings), list/tuple/set -> array, bytes -> Uint8Array. A container the
 * pickle references from several places (memo GET) is converted once and shared, as PyTorch shares it.
 */
function toCheckpointValue(root: unknown, file: string): CheckpointValue {
  const converted = new Map<object, { value: CheckpointValue; expanded: number }>()
  const open = new Set<object>()
  const visit = (v: unknown, depth: number): { value: CheckpointValue; expanded: number } => {
    if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return { value: v, expanded: 1 }
    if (v instanceof Uint8Array || v instanceof HostTensor) return { value: v, expanded: 1 }
    if (typeof v !== 'object') throw new Error(`${file}: the pickle produced ${describe(v)}, which has no checkpoint representation`)
    const done = converted.get(v)
    if (done) return done
    if (depth >= MAX_PICKLE_DEPTH) throw new Error(`${file}: containers nested more than ${MAX_PICKLE_DEPTH} deep; refusing the file (corrupt or hostile pickle)`)
    if (open.has(v)) throw new Error(`${file}: a container holds itself (reference cycle), which a checkpoint cannot represent`)
    open.add(v)
    let expanded = 1
    const child = (x: unknown): CheckpointValue => {
      const c = visit(x, depth + 1)
      expanded += c.expanded
      if (expanded > MAX_PICKLE_EXPANDED_VALUES)
        throw new Error(`${file}: shared references in the pickle expand to more than ${MAX_PICKLE_EXPANDED_VALUES.toLocaleString('en-US')} values; refusing the file (corrupt or hostile pickle)`)
      return c.value
    }
    let value: CheckpointValue
    if (v instanceof PyTuple || v instanceof PySet) value = v.items.map(child)
    else if (Array.isArray(v)) value = v.map(child)
    else if (v instanceof PyDict) {
      const out: { [key: string]: CheckpointValue } = {}
      for (const [k, x] of v.entries) Object.defineProperty(out, String(k), { value: child(x), enumerable: true, writable: true, configurable: true })
      value = out
    } else throw new Error(`${file}: the pickle produced ${describe(v)}, which has no checkpoint representation`)
    open.delete(v)
    const result = { value, expanded }
    converted.set(v, result)
    return result
  }
  return visit(root, 0).value
}
