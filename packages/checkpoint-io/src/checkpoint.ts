import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { writeFileAtomic } from './atomic-write'
import { type CheckpointValue, HostTensor, type StateDict } from './host-tensor'
import { readPth, writePth } from './pth'
import { decodeSafetensors, encodeSafetensors } from './safetensors'
import { describeUnknownContent, sniffCheckpoint } from './sniff'

/**
 * A training state with imagenet `main.py`'s keys plus what exact resume needs. Extra keys are kept as they are.
 * `epoch` is the next epoch to run (main.py saves `epoch + 1`).
 */
export interface TrainingState {
  epoch: number
  arch: string
  state_dict: StateDict
  best_acc1: number
  optimizer?: CheckpointValue
  scheduler?: CheckpointValue
  /** RNG states (seeds, generator counters) needed to continue the same random streams. */
  rng?: CheckpointValue
  [key: string]: CheckpointValue | undefined
}

export type CheckpointFormat = 'safetensors' | 'pth'

/**
 * The formats, main.py's first: 'pth' is a `torch.save` zip (`checkpoint.pth.tar`, opened by `torch.load` as is);
 * 'safetensors' keeps the tensors in a safetensors file and the rest as JSON metadata.
 */
export const CHECKPOINT_FORMATS: readonly CheckpointFormat[] = ['pth', 'safetensors']

/** Metadata key holding the JSON tree of the non-tensor state in TinyLab safetensors checkpoints. */
export const STATE_METADATA_KEY = 'tinylab.state'

/** `.safetensors` -> safetensors; `.pth`, `.pt`, `.tar`, `.bin` -> torch.save zip. */
export function formatForPath(path: string): CheckpointFormat {
  if (/\.safetensors$/iu.test(path)) return 'safetensors'
  if (/\.(pth|pt|tar|bin)$/iu.test(path)) return 'pth'
  throw new Error(`${path}: cannot tell the checkpoint format from the extension (use .safetensors or .pth/.pth.tar/.pt)`)
}

// JSON cannot hold NaN, Infinity, bigint or bytes, and tensors live outside the JSON: tag them.
type Tagged = null | boolean | number | string | Tagged[] | { [key: string]: Tagged }

function tensorKey(path: string[]): string {
  // state_dict tensors keep their bare PyTorch key, so `model.load_state_dict(load_file(path))` works after filtering
  // out the '/'-paths of the other tensors (optimizer buffers…), which can never collide with dotted state-dict keys.
  return path[0] === 'state_dict' && path.length === 2 ? (path[1] as string) : path.join('/')
}

function encodeTree(value: CheckpointValue, path: string[], tensors: Record<string, HostTensor>): Tagged {
  if (value instanceof HostTensor) {
    const key = tensorKey(path)
    if (key in tensors) throw new Error(`saveCheckpoint: two tensors map to the key '${key}'`)
    tensors[key] = value
    return { $tensor: key }
  }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') }
  if (typeof value === 'bigint') return { $int: value.toString() }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $float: String(value) }
  if (Array.isArray(value)) return value.map((v, i) => encodeTree(v, [...path, String(i)], tensors))
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: Tagged } = {}
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue
      if (k.includes('/')) throw new Error(`saveCheckpoint: key '${k}' at ${path.join('.') || '<root>'} contains '/'`)
      Object.defineProperty(out, k, { value: encodeTree(v, [...path, k], tensors), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return value
}

function decodeTree(value: Tagged, tensors: Record<string, HostTensor>, file: string): CheckpointValue {
  if (Array.isArray(value)) return value.map((v) => decodeTree(v, tensors, file))
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value)
    if (keys.length === 1) {
      const tag = value[keys[0] as string]
      if (keys[0] === '$tensor' && typeof tag === 'string') {
        const t = tensors[tag]
        if (!t) throw new Error(`${file}: metadata refers to tensor '${tag}', which the file does not contain`)
        return t
      }
      if (keys[0] === '$bytes' && typeof tag === 'string') return new Uint8Array(Buffer.from(tag, 'base64'))
      if (keys[0] === '$int' && typeof tag === 'string') return BigInt(tag)
      if (keys[0] === '$float' && typeof tag === 'string') return Number(tag)
    }
    const out: { [key: string]: CheckpointValue } = {}
    for (const k of keys)
      Object.defineProperty(out, k, { value: decodeTree(value[k] as Tagged, tensors, file), enumerable: true, writable: true, configurable: true })
    return out
  }
  return value
}

/** Encodes a state as file chunks in `format` (no I/O). */
export function encodeCheckpoint(state: Record<string, CheckpointValue | undefined>, format: CheckpointFormat): Uint8Array[] {
  const clean = JSON.parse('{}') as Record<string, CheckpointValue>
  for (const [k, v] of Object.entries(state)) if (v !== undefined) clean[k] = v
  if (format === 'pth') return writePth(clean)
  const tensors: Record<string, HostTensor> = {}
  const tree = encodeTree(clean, [], tensors)
  return encodeSafetensors(tensors, { format: 'pt', [STATE_METADATA_KEY]: JSON.stringify(tree) })
}

/** Decodes checkpoint bytes of any format `sniffCheckpoint` knows; a safetensors file without TinyLab metadata becomes `{ state_dict }`. */
export function decodeCheckpoint(bytes: Uint8Array, fileName: string): Record<string, CheckpointValue> {
  const content = sniffCheckpoint(bytes)
  if (content === undefined) throw new Error(`${fileName}: ${describeUnknownContent(bytes)}`)
  if (content !== 'safetensors') {
    const value = readPth(bytes, fileName)
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof HostTensor || value instanceof Uint8Array)
      throw new Error(`${fileName}: expected a dict at the top level of the checkpoint`)
    return value
  }
  const { tensors, metadata } = decodeSafetensors(bytes, fileName)
  const json = metadata[STATE_METADATA_KEY]
  if (json === undefined) return { state_dict: tensors }
  let tree: Tagged
  try {
    tree = JSON.parse(json) as Tagged
  } catch (e) {
    throw new Error(`${fileName}: metadata '${STATE_METADATA_KEY}' is not valid JSON (${(e as Error).message})`)
  }
  return decodeTree(tree, tensors, fileName) as Record<string, CheckpointValue>
}

/**
 * Atomically saves a state (see `writeFileAtomic`) as safetensors (default for `.safetensors`) or torch.save zip
 * (`.pth`, `.pth.tar`, `.pt`). Both open in PyTorch: `torch.load(path)` for .pth; for safetensors, the state-dict
 * tensors are stored under their bare keys and the rest of the state as JSON in `__metadata__['tinylab.state']`.
 *
 * @example
 * await saveCheckpoint('runs/checkpoint.safetensors', { epoch: 1, arch: 'resnet18', state_dict, best_acc1: 12.5 })
 */
export async function saveCheckpoint(path: string, state: Record<string, CheckpointValue | undefined>, format = formatForPath(path)): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(state, format))
}

/**
 * Loads a checkpoint written by `saveCheckpoint`, by `torch.save` (zip or legacy format) or any safetensors file; the
 * format is sniffed from the content (`sniffCheckpoint`), never taken from the extension. Tensors are `HostTensor`s;
 * convert to tfjs with `loadStateDict`.
 *
 * @example
 * const ckpt = await loadCheckpoint('runs/checkpoint.safetensors')
 * ckpt.epoch  // 1
 */
export async function loadCheckpoint(path: string): Promise<Record<string, CheckpointValue>> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    // Node's messages name the path for some errors (ENOENT) and not for others (EISDIR, files over 2 GiB).
    throw new Error(`${path}: cannot read the checkpoint (${(e as Error).message})`, { cause: e })
  }
  return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), basename(path))
}

/**
 * Checks that a loaded checkpoint has imagenet main.py's keys with usable types and returns it typed. `best_acc1` may be
 * a one-element tensor, as main.py saves it (`top1.avg` accumulates `acc1[0]` tensors); it becomes a number. Every
 * problem is reported in one error naming the file.
 *
 * @example
 * const state = asTrainingState(await loadCheckpoint(args.resume), args.resume)
 * startEpoch = state.epoch; bestAcc1 = state.best_acc1
 */
export function asTrainingState(value: Record<string, CheckpointValue>, fileName = 'checkpoint'): TrainingState {
  const problems: string[] = []
  const { epoch, arch, state_dict: stateDict } = value
  let best = value.best_acc1
  if (best instanceof HostTensor) best = best.size === 1 ? (best.toFloat32()[0] as number) : Number.NaN
  if (typeof epoch !== 'number' || !Number.isInteger(epoch)) problems.push(`'epoch' must be an integer, got ${describeValue(epoch)}`)
  if (typeof arch !== 'string') problems.push(`'arch' must be a string, got ${describeValue(arch)}`)
  if (typeof best !== 'number' || Number.isNaN(best)) problems.push(`'best_acc1' must be a number or one-element tensor, got ${describeValue(value.best_acc1)}`)
  if (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict) || stateDict instanceof HostTensor || stateDict instanceof Uint8Array)
    problems.push(`'state_dict' must be a dict of tensors, got ${describeValue(stateDict)}`)
  else {
    const bad = Object.entries(stateDict).filter(([, t]) => !(t instanceof HostTensor)).map(([k]) => k)
    if (bad.length) problems.push(`'state_dict' entries that are not tensors: ${bad.join(', ')}`)
  }
  if (problems.length) throw new Error(`${fileName}: not a training checkpoint:\n\t${problems.join('\n\t')}`)
  return { ...value, epoch: epoch as number, arch: arch as string, best_acc1: best as number, state_dict: stateDict as StateDict }
}

function describeValue(v: CheckpointValue | undefined): string {
  if (v === undefined) return 'nothing (key missing)'
  if (v instanceof HostTensor) return `a ${v.dtype} tensor of shape [${v.shape.join(', ')}]`
  if (Array.isArray(v)) return 'a list'
  return v === null ? 'None' : typeof v === 'object' && !(v instanceof Uint8Array) ? 'a dict' : JSON.stringify(typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? 'bytes' : v)
}
