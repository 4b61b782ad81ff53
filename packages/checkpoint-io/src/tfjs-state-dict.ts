import { type DataType, type Tensor, type Variable, tensor } from '@tensorflow/tfjs-core'
import { type CheckpointValue, type DType, HostTensor, type StateDict } from './host-tensor'
import { type TensorLayout, fromTorchLayout, toTorchLayout, torchShape } from './layout'

/**
 * One parameter or buffer of a model, under its exact PyTorch `state_dict()` key, stored in TinyLab layout: the
 * declaration the model packages use. Buffers are BatchNorm's running_mean / running_var (float32) and
 * num_batches_tracked (int32 here, int64 in torch).
 */
export interface NamedTensor {
  name: string
  value: Variable
  layout: TensorLayout
  kind: 'parameter' | 'buffer'
}

const FLOAT_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16']
const INT_DTYPES: readonly DType[] = ['int64', 'int32', 'int16', 'int8', 'uint8']

/**
 * Copies a tfjs tensor to host memory in PyTorch layout. int32 becomes int64, PyTorch's integer dtype
 * (BatchNorm's `num_batches_tracked` is int64 in torch, int32 in tfjs).
 *
 * @example
 * const w = await tensorToHost(model.fc.kernel, 'linear-io')  // [out, in] like torch's fc.weight
 */
export async function tensorToHost(t: Tensor, layout: TensorLayout = 'same', name = 'tensor'): Promise<HostTensor> {
  const data = await t.data()
  let host: HostTensor
  if (t.dtype === 'float32') host = new HostTensor('float32', t.shape, data as Float32Array)
  else if (t.dtype === 'int32') host = new HostTensor('int64', t.shape, BigInt64Array.from(data as Int32Array, (v) => BigInt(v)))
  else if (t.dtype === 'bool') host = new HostTensor('bool', t.shape, Uint8Array.from(data as Uint8Array))
  else throw new Error(`${name}: tfjs dtype ${t.dtype} has no checkpoint mapping`)
  return toTorchLayout(host, layout, name)
}

/** Makes a tfjs tensor (TinyLab layout) from a host tensor in PyTorch layout; floats -> float32, ints -> int32. */
export function hostToTensor(h: HostTensor, layout: TensorLayout = 'same', dtype: DataType = FLOAT_DTYPES.includes(h.dtype) ? 'float32' : 'int32', name = 'tensor'): Tensor {
  const t = fromTorchLayout(h, layout, name)
  if (dtype === 'float32') return tensor(t.toFloat32(), [...t.shape], 'float32')
  if (dtype === 'int32') return tensor(t.toInt32(name), [...t.shape], 'int32')
  if (dtype === 'bool') return tensor(Uint8Array.from(t.toInt32(name)), [...t.shape], 'bool')
  throw new Error(`${name}: cannot load into a tfjs ${dtype} tensor`)
}

/**
 * A model's PyTorch state dict (PyTorch keys, order and layouts) from its `namedTensors()`.
 *
 * @example
 * const stateDict = await toStateDict(model.namedTensors())
 * await saveCheckpoint('model.safetensors', { epoch: 0, arch: 'resnet18', state_dict: stateDict, best_acc1: 0 })
 */
export async function toStateDict(named: readonly NamedTensor[]): Promise<StateDict> {
  const out: StateDict = {}
  for (const n of named) out[n.name] = await tensorToHost(n.value, n.layout, n.name)
  return out
}

export interface LoadStateDictOptions {
  /** Like torch's `load_state_dict(strict=...)`: when false, missing and unexpected keys are allowed. Default true. */
  strict?: boolean
  /** Used in the error heading ("Error(s) in loading state_dict for ResNet"). */
  modelName?: string
}

export interface LoadStateDictResult {
  missingKeys: string[]
  unexpectedKeys: string[]
}

function fmtShape(shape: readonly number[]): string {
  return `torch.Size([${shape.join(', ')}])`
}

/**
 * What `loadStateDict` accepts: a state dict (torch's `model.state_dict()`, or `torch.load` of a file saved from it),
 * or a whole checkpoint that holds one under `state_dict` (imagenet main.py's format) — i.e. whatever `loadCheckpoint`
 * returns.
 */
export type StateDictSource = Readonly<Record<string, CheckpointValue>>

/** The state dict inside `source` (see `StateDictSource`); throws naming the entries that are not tensors. */
export function stateDictOf(source: StateDictSource, what = 'state_dict'): StateDict {
  const entries = Object.entries(source)
  if (entries.every(([, v]) => v instanceof HostTensor)) return source as StateDict
  const inner = source.state_dict
  if (inner !== undefined && inner !== null && typeof inner === 'object' && !(inner instanceof HostTensor) && !(inner instanceof Uint8Array) && !Array.isArray(inner))
    return stateDictOf(inner, `${what}['state_dict']`)
  const bad = entries.filter(([, v]) => !(v instanceof HostTensor)).map(([k]) => k)
  throw new Error(`${what}: expected a state dict (tensors by key) or a checkpoint with a 'state_dict' entry; not tensors: ${bad.join(', ')}`)
}

/**
 * Assigns a PyTorch state dict to a model's variables after checking every key, shape and dtype; all problems are
 * reported together, by name, in torch's wording. DataParallel's `module.` prefixes are stripped. Nothing is assigned
 * when there is an error. `source` may also be a whole checkpoint holding the state dict under `state_dict`.
 *
 * @example
 * loadStateDict(model.namedTensors(), await loadCheckpoint('resnet18.pth'))   // torch.save(model.state_dict(), ...)
 * loadStateDict(model.namedTensors(), await loadCheckpoint('runs/x/checkpoint.pth.tar'))  // main.py's checkpoint
 */
export function loadStateDict(named: readonly NamedTensor[], from: StateDictSource, options: LoadStateDictOptions = {}): LoadStateDictResult {
  const stateDict = stateDictOf(from)
  const strict = options.strict ?? true
  const source = new Map<string, HostTensor>()
  for (const [k, v] of Object.entries(stateDict)) source.set(k.startsWith('module.') ? k.slice('module.'.length) : k, v)
  const names = new Set(named.map((n) => n.name))
  const missingKeys = named.filter((n) => !source.has(n.name)).map((n) => n.name)
  const unexpectedKeys = [...source.keys()].filter((k) => !names.has(k))
  const problems: string[] = []
  for (const n of named) {
    const h = source.get(n.name)
    if (!h) continue
    const want = torchShape(n.value.shape, n.layout)
    if (want.length !== h.shape.length || want.some((d, i) => d !== h.shape[i]))
      problems.push(`size mismatch for ${n.name}: copying a param with shape ${fmtShape(h.shape)} from checkpoint, the shape in current model is ${fmtShape(want)}.`)
    const floatTarget = n.value.dtype === 'float32'
    const ok = floatTarget ? FLOAT_DTYPES.includes(h.dtype) : n.value.dtype === 'bool' ? h.dtype === 'bool' : INT_DTYPES.includes(h.dtype)
    if (!ok) problems.push(`dtype mismatch for ${n.name}: checkpoint has ${h.dtype}, the model has ${n.value.dtype}.`)
  }
  const lines: string[] = []
  if (strict && missingKeys.length) lines.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`)
  if (strict && unexpectedKeys.length) lines.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`)
  lines.push(...problems)
  if (lines.length) throw new Error(`Error(s) in loading state_dict for ${options.modelName ?? 'model'}:\n\t${lines.join('\n\t')}`)
  for (const n of named) {
    const h = source.get(n.name)
    if (!h) continue
    const t = hostToTensor(h, n.layout, n.value.dtype, n.name)
    n.value.assign(t)
    t.dispose()
  }
  return { missingKeys, unexpectedKeys }
}
