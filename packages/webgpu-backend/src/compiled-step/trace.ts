// Runs the step once eagerly while recording its GPU work, then sorts every tensor the recorded dispatches touch into
// what a replay must do with it: an input written each step, a variable's state, a constant, or a temporary.
import * as tf from '@tensorflow/tfjs-core'
import type { RecordedDispatch, RecordedUpload, Recorder, WebGpuBackendInternals } from './backend-hooks'
import { flushTfjs, hooksOf } from './backend-hooks'

type DataId = object

/** Where a value bound by a recorded dispatch lives in a replay. */
export type ValueRole =
  | { kind: 'input'; index: number }
  /** A variable's value when the step starts: read from the variable's fixed buffer. */
  | { kind: 'state'; variable: tf.Variable }
  /** A tensor that existed before the step and is no variable: copied once when the plan is built. */
  | { kind: 'frozen'; id: number }
  /** CPU values written during the step (tf.scalar(0.9) and the like): written once when the plan is built. */
  | { kind: 'constant'; upload: number }
  /** Computed during the step: planned into the arena by liveness; `pinned` ones must survive to the step's end. */
  | { kind: 'temp'; order: number }

export interface Trace {
  dispatches: RecordedDispatch[]
  uploads: RecordedUpload[]
  roles: Map<DataId, ValueRole>
  /** Byte size of every value (from the buffers tfjs gave it). */
  bytes: Map<DataId, number>
  /** The values the step returned, in order. */
  outputs: DataId[]
  outputDtypes: tf.DataType[]
  outputShapes: number[][]
  /** Variables the step assigned, with the value they hold at its end. */
  stateWrites: { variable: tf.Variable; value: DataId }[]
  /** Every variable the step reads or writes. */
  variables: tf.Variable[]
  /** Readbacks, textures, new variables, leaks: why this step cannot be replayed. */
  unsupported: string[]
  /** Uploads taken as uniform [0, 1) draws (tf.dropout's noise), redrawn on the GPU at every replay. */
  randomUploads: Set<number>
}

const idOf = (dataId: DataId): number => (dataId as { id: number }).id

/** Returns the step's returned tensors (kept: the caller disposes them) and the trace of its GPU work. */
export function traceStep(
  backend: WebGpuBackendInternals,
  fn: (inputs: readonly tf.Tensor[]) => tf.Tensor[],
  inputs: readonly tf.Tensor[],
): { results: tf.Tensor[]; trace: Trace } {
  const hooks = hooksOf(backend)
  flushTfjs(backend)
  // Inputs and variables on the GPU first: tfjs runs ops whose inputs are all small and CPU-resident on the CPU
  // (WEBGPU_CPU_FORWARD), which would turn a step input into a baked-in upload.
  for (const t of inputs) backend.uploadToGPU(t.dataId)
  const startVariables = new Map<DataId, tf.Variable>()
  for (const v of Object.values(tf.engine().registeredVariables)) {
    backend.uploadToGPU(v.dataId)
    startVariables.set(v.dataId, v)
  }
  const firstNewId = backend.constructor.nextDataId
  const recorder: Recorder = { dispatches: [], uploads: [], unsupported: [] }
  hooks.recorder = recorder
  let results: tf.Tensor[]
  try {
    results = tf.tidy(() => fn(inputs))
  } finally {
    hooks.recorder = undefined
  }
  flushTfjs(backend) // releases what tfjs held for its queue: what is left alive is what the step kept
  return { results, trace: analyse(backend, recorder, inputs, results, startVariables, firstNewId) }
}

function analyse(
  backend: WebGpuBackendInternals,
  rec: Recorder,
  inputs: readonly tf.Tensor[],
  results: tf.Tensor[],
  startVariables: Map<DataId, tf.Variable>,
  firstNewId: number,
): Trace {
  const unsupported = [...rec.unsupported]
  const roles = new Map<DataId, ValueRole>()
  const bytes = new Map<DataId, number>()
  const uploadIndex = new Map<DataId, number>()
  rec.uploads.forEach((u, i) => uploadIndex.set(u.dataId, i))
  const inputIndex = new Map<DataId, number>()
  inputs.forEach((t, i) => inputIndex.set(t.dataId, i))
  let temps = 0
  const written = new Set<DataId>()
  const roleOf = (dataId: DataId): ValueRole => {
    const known = roles.get(dataId)
    if (known !== undefined) return known
    let role: ValueRole
    const input = inputIndex.get(dataId)
    const variable = startVariables.get(dataId)
    const upload = uploadIndex.get(dataId)
    if (input !== undefined) role = { kind: 'input', index: input }
    else if (variable !== undefined) role = { kind: 'state', variable }
    else if (idOf(dataId) < firstNewId) role = { kind: 'frozen', id: idOf(dataId) }
    else if (upload !== undefined) role = { kind: 'constant', upload }
    else role = { kind: 'temp', order: temps++ }
    roles.set(dataId, role)
    return role
  }
  for (const d of rec.dispatches) {
    const extra = d.inputs.slice(d.inputs.length - d.extraOutputs)
    for (const id of [d.output, ...extra]) {
      const out = roleOf(id)
      if (out.kind !== 'temp') unsupported.push(`${d.program} writes into ${describe(out)}, which a replay keeps fixed`)
      written.add(id)
    }
    ;[d.output, ...d.inputs].forEach((id, i) => bytes.set(id, d.sizes[i] ?? 0))
    d.inputs.forEach(roleOf)
  }
  for (const u of rec.uploads) bytes.set(u.dataId, u.bytes.byteLength)

  const outputs = results.map((t) => t.dataId)
  results.forEach((t, i) => {
    if (!written.has(t.dataId)) unsupported.push(`output ${i} (${t.dtype}[${t.shape}]) is not computed by a GPU dispatch of the step`)
  })

  const stateWrites: Trace['stateWrites'] = []
  const variables = new Set<tf.Variable>()
  for (const role of roles.values()) if (role.kind === 'state') variables.add(role.variable)
  const startById = new Map([...startVariables].map(([dataId, v]) => [v, dataId]))
  for (const v of Object.values(tf.engine().registeredVariables)) {
    const start = startById.get(v)
    if (start === undefined) {
      unsupported.push(`the step creates tf.Variable '${v.name}' (a replay cannot create variables; create it before compiling)`)
      continue
    }
    if (v.dataId === start) continue
    if (!written.has(v.dataId)) unsupported.push(`variable '${v.name}' is assigned a tensor the step did not compute on the GPU`)
    stateWrites.push({ variable: v, value: v.dataId })
    variables.add(v)
  }

  const kept = new Set<DataId>([...outputs, ...stateWrites.map((w) => w.value)])
  const leaked = [...written].filter((id) => !kept.has(id) && backend.tensorMap.has(id))
  if (leaked.length > 0) {
    const shapes = leaked.slice(0, 3).map((id) => `${backend.tensorMap.get(id).dtype}[${backend.tensorMap.get(id).shape}]`)
    unsupported.push(`the step leaves ${leaked.length} tensor(s) alive that it neither returns nor assigns to a variable (${shapes.join(', ')})`)
  }
  return {
    dispatches: rec.dispatches,
    uploads: rec.uploads,
    roles,
    bytes,
    outputs,
    outputDtypes: results.map((t) => t.dtype),
    outputShapes: results.map((t) => [...t.shape]),
    stateWrites,
    variables: [...variables],
    unsupported,
    randomUploads: new Set(),
  }
}

function describe(role: ValueRole): string {
  switch (role.kind) {
    case 'input':
      return `step input ${role.index}`
    case 'state':
      return `variable '${role.variable.name}'`
    case 'frozen':
      return 'a tensor created before the step'
    case 'constant':
      return 'a tensor uploaded from the CPU'
    case 'temp':
      return 'a temporary'
  }
}

/** A name for a value that is the same in two traces of the same step (dataIds differ between calls). */
function label(trace: Trace, dataId: DataId): string {
  const role = trace.roles.get(dataId)
  if (role === undefined) return '?'
  switch (role.kind) {
    case 'input':
      return `input ${role.index}`
    case 'state':
      return `variable '${role.variable.name}'`
    case 'frozen':
      return `tensor #${role.id}`
    case 'constant':
      return `upload ${role.upload}`
    case 'temp':
      return `temporary ${role.order}`
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** float32 values all in [0, 1): what tf.randomUniform(shape, 0, 1) draws. */
function uniform01(upload: RecordedUpload): boolean {
  if (upload.dtype !== 'float32') return false
  const values = new Float32Array(upload.bytes.buffer, upload.bytes.byteOffset, upload.bytes.byteLength / 4)
  return values.every((v) => v >= 0 && v < 1)
}

/**
 * Why two traces of the same step differ (undefined when they are the same program): a replay would silently repeat
 * the first one's host-side choices, e.g. a dropout mask drawn on the CPU or a learning rate read from JavaScript.
 * With `random`, uploads that differ but hold uniform [0, 1) draws in both calls are no difference: their indices go
 * into `random` (b's), to be redrawn on the GPU.
 */
export function differenceBetween(a: Trace, b: Trace, random?: Set<number>): string | undefined {
  if (a.dispatches.length !== b.dispatches.length) {
    return `the step issued ${a.dispatches.length} dispatches in one call and ${b.dispatches.length} in the next (control flow that depends on values or call count)`
  }
  for (let i = 0; i < a.dispatches.length; i++) {
    const x = a.dispatches[i] as RecordedDispatch
    const y = b.dispatches[i] as RecordedDispatch
    const where = `dispatch ${i} (${x.program})`
    if (x.pipeline !== y.pipeline || x.program !== y.program) return `${where} runs a different program in the next call (${y.program})`
    if (x.workgroups.join() !== y.workgroups.join()) return `${where} changes its workgroup count between calls`
    if (!sameBytes(x.uniform, y.uniform)) return `${where} changes its uniforms (shapes or scalar attributes) between calls`
    const lx = [x.output, ...x.inputs].map((id) => label(a, id)).join(', ')
    const ly = [y.output, ...y.inputs].map((id) => label(b, id)).join(', ')
    if (lx !== ly) return `${where} binds [${lx}] in one call and [${ly}] in the next`
  }
  if (a.uploads.length !== b.uploads.length) return `the step uploads ${a.uploads.length} CPU arrays in one call and ${b.uploads.length} in the next`
  for (let i = 0; i < a.uploads.length; i++) {
    const x = a.uploads[i] as RecordedUpload
    const y = b.uploads[i] as RecordedUpload
    if (!sameBytes(x.bytes, y.bytes)) {
      if (random !== undefined && uniform01(x) && uniform01(y)) {
        random.add(i)
        continue
      }
      return (
        `upload ${i} (${x.dtype}[${x.shape}]) has different values in consecutive calls: host-generated data such as a dropout ` +
        'mask (tf.dropout draws on the CPU) or a learning rate read from JavaScript; pass it as a step input, use traceKey ' +
        "for a value that changes rarely, or hostRandom: 'gpu-uniform' for uniform [0, 1) draws"
      )
    }
  }
  return undefined
}
