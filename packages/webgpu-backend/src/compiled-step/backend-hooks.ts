// The one place where TinyLab looks inside tfjs-backend-webgpu 4.22: every GPU action of the backend goes through the
// methods wrapped here (recordAndSubmit for every dispatch, makeUniforms for its uniform bytes, uploadToGPU for CPU
// values written into buffers, getBufferData/readSync/copyBuffer/readToGPU for readbacks and copies), so a recorder
// sees a step's whole GPU work without knowing any kernel.
import * as tf from '@tensorflow/tfjs-core'

/** What tfjs keeps per tensor on this backend (tfjs-backend-webgpu's `TensorData`, the fields used here). */
export interface WebGpuTensorData {
  values: ArrayLike<number> | null | undefined
  dtype: tf.DataType
  shape: number[]
  refCount: number
  resource?: GPUBuffer | GPUTexture | null
  external?: boolean
}

interface WebGpuProgram {
  pipeline: GPUComputePipeline | Promise<GPUComputePipeline>
  dispatch: [number, number, number]
  shaderKey: string
  constructor: { name: string }
  /** Programs that write more than one output bind the extra ones as their last inputs and name them here. */
  extraOutputNames?: readonly string[]
}

type DataId = object

/** The members of tfjs-backend-webgpu's WebGPUBackend this module uses (several are private in its .d.ts). */
export interface WebGpuBackendInternals {
  device: GPUDevice
  queue: GPUQueue
  tensorMap: { get(dataId: DataId): WebGpuTensorData; has(dataId: DataId): boolean }
  commandEncoder: GPUCommandEncoder | null
  recordAndSubmit(program: WebGpuProgram, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: unknown): void
  makeUniforms(uniforms: unknown): GPUBufferBinding
  uploadToGPU(dataId: DataId): void
  getBufferData(buffer: GPUBuffer): Promise<ArrayBuffer | null>
  readSync(dataId: DataId): unknown
  copyBuffer(buffer: GPUBuffer): GPUBuffer
  readToGPU(dataId: DataId): unknown
  submitQueue(): void
  endComputePassEncoder(): void
  createTensorFromGPUData(data: { buffer: GPUBuffer; zeroCopy?: boolean }, shape: number[], dtype: tf.DataType): tf.Tensor
  constructor: { nextDataId: number }
}

/** One dispatch as tfjs issued it. */
export interface RecordedDispatch {
  /** The program's class name (e.g. 'BinaryOpProgram'), for error messages and statistics. */
  program: string
  pipeline: GPUComputePipeline
  workgroups: [number, number, number]
  output: DataId
  inputs: DataId[]
  /** How many of the last `inputs` the program writes (its extra outputs); 0 for tfjs's own programs. */
  extraOutputs: number
  /** Byte size of the output's buffer, then of each input's. */
  sizes: number[]
  /** The uniform block's bytes (shapes, strides, program-defined uniforms). */
  uniform: Uint8Array
  /** The program's cache key (e.g. 'unary_37' for tfjs's Step), which tells one tfjs op from another. */
  shaderKey: string
  /** The program-defined uniform values as the kernel passed them (e.g. Step's alpha), in order. */
  programUniforms: number[]
  /** The dtype of the output, then of each input. */
  dtypes: tf.DataType[]
  /** The shape of the output, then of each input (tfjs's dispatches; fused ones leave it out): for per-kernel FLOP counts. */
  shapes?: number[][]
}

/** CPU values tfjs wrote into a tensor's buffer (a constant or a host-generated array such as a dropout mask). */
export interface RecordedUpload {
  dataId: DataId
  dtype: tf.DataType
  shape: number[]
  bytes: Uint8Array
}

/** What a traced call did on the GPU, in order, and what it did that a replay cannot repeat. */
export interface Recorder {
  dispatches: RecordedDispatch[]
  uploads: RecordedUpload[]
  /** Actions a replay cannot reproduce (a readback mid-step, a texture), in words. */
  unsupported: string[]
}

interface HookState {
  recorder: Recorder | undefined
  /** Give every eager dispatch zero workgroups: only host work is left (the host-only benchmark). */
  zeroWorkgroups: boolean
  /** Eager dispatches issued by tfjs since the hooks were installed. */
  dispatchCount: number
  pendingUniform: Uint8Array | undefined
}

const hooked = new WeakMap<object, HookState>()

/** The active tfjs backend as WebGPU internals, or an error naming the active backend. */
export function webGpuBackend(what: string): WebGpuBackendInternals {
  if (tf.getBackend() !== 'webgpu') throw new Error(`${what}: needs the 'webgpu' backend (startWebGpu()), the active backend is '${tf.getBackend()}'`)
  return tf.backend() as unknown as WebGpuBackendInternals
}

/** Wraps the backend's GPU entry points once per backend instance; returns the shared state. */
export function hooksOf(backend: WebGpuBackendInternals): HookState {
  const existing = hooked.get(backend)
  if (existing !== undefined) return existing
  const state: HookState = { recorder: undefined, zeroWorkgroups: false, dispatchCount: 0, pendingUniform: undefined }
  hooked.set(backend, state)

  const recordAndSubmit = backend.recordAndSubmit.bind(backend)
  backend.recordAndSubmit = (program, output, inputs, uniforms) => {
    state.dispatchCount++
    const workgroups: [number, number, number] = [...program.dispatch]
    if (state.zeroWorkgroups) program.dispatch = [0, 0, 0]
    state.pendingUniform = undefined
    try {
      recordAndSubmit(program, output, inputs, uniforms)
    } finally {
      program.dispatch = workgroups
    }
    const rec = state.recorder
    if (rec === undefined) return
    const uniform = state.pendingUniform
    const sizes: number[] = []
    const dtypes: tf.DataType[] = []
    for (const t of [output, ...inputs]) {
      dtypes.push(t.dtype)
      const resource = backend.tensorMap.get(t.dataId).resource
      if (resource instanceof GPUBuffer) sizes.push(resource.size)
      else rec.unsupported.push(`${program.constructor.name} binds a texture, not a buffer`)
    }
    if (uniform === undefined || program.pipeline instanceof Promise) {
      rec.unsupported.push(`${program.constructor.name} was compiled in parallel (WEBGPU_ENGINE_COMPILE_ONLY) or has no uniforms`)
      return
    }
    rec.dispatches.push({
      program: program.constructor.name,
      pipeline: program.pipeline,
      workgroups,
      output: output.dataId,
      inputs: inputs.map((t) => t.dataId),
      extraOutputs: program.extraOutputNames?.length ?? 0,
      sizes,
      uniform,
      shaderKey: program.shaderKey,
      programUniforms: Array.isArray(uniforms) ? (uniforms as { data: number[] }[]).flatMap((u) => [...u.data]) : [],
      dtypes,
      shapes: [output, ...inputs].map((t) => [...t.shape]),
    })
  }

  const makeUniforms = backend.makeUniforms.bind(backend)
  backend.makeUniforms = (uniforms) => {
    // makeUniforms packs the block and hands it to queue.writeBuffer: the bytes are taken there.
    const queue = backend.queue
    backend.queue = {
      writeBuffer: (buffer: GPUBuffer, offset: number, data: ArrayBuffer, dataOffset = 0, size?: number) => {
        state.pendingUniform = new Uint8Array(data.slice(dataOffset, dataOffset + (size ?? data.byteLength - dataOffset)))
        queue.writeBuffer(buffer, offset, data, dataOffset, size)
      },
    } as unknown as GPUQueue
    try {
      return makeUniforms(uniforms)
    } finally {
      backend.queue = queue
    }
  }

  const uploadToGPU = backend.uploadToGPU.bind(backend)
  backend.uploadToGPU = (dataId) => {
    const data = backend.tensorMap.get(dataId)
    const values = data.resource == null ? data.values : undefined
    uploadToGPU(dataId)
    if (state.recorder === undefined || values == null) return
    const typed = data.dtype === 'int32' || data.dtype === 'bool' ? Int32Array.from(values) : Float32Array.from(values)
    state.recorder.uploads.push({ dataId, dtype: data.dtype, shape: [...data.shape], bytes: new Uint8Array(typed.buffer) })
  }

  const noteReadback = (what: string): void => {
    state.recorder?.unsupported.push(what)
  }
  const getBufferData = backend.getBufferData.bind(backend)
  backend.getBufferData = (buffer) => {
    noteReadback(`a readback of a ${buffer.size}-byte tensor to the CPU (data()/dataSync()) inside the step`)
    return getBufferData(buffer)
  }
  const readSync = backend.readSync.bind(backend)
  backend.readSync = (dataId) => {
    const data = backend.tensorMap.get(dataId)
    if (data.values == null) noteReadback(`a synchronous readback of a ${data.dtype}[${data.shape}] tensor (dataSync()) inside the step`)
    return readSync(dataId)
  }
  const copyBuffer = backend.copyBuffer.bind(backend)
  backend.copyBuffer = (buffer) => {
    noteReadback('a buffer copy (tf.tensor() from a GPU buffer) inside the step')
    return copyBuffer(buffer)
  }
  const readToGPU = backend.readToGPU.bind(backend)
  backend.readToGPU = (dataId) => {
    noteReadback('a dataToGPU() copy inside the step')
    return readToGPU(dataId)
  }
  return state
}

/** Submits what tfjs has encoded but not yet submitted, so work submitted after it runs after it. */
export function flushTfjs(backend: WebGpuBackendInternals): void {
  if (backend.commandEncoder === null) return
  backend.endComputePassEncoder()
  backend.submitQueue()
}

/**
 * Host-only timing: while on, every dispatch (eager tfjs and compiled replays) is issued with zero workgroups, and a
 * replay's end-of-step copies (variables' new values, outputs to staging) with zero bytes, so the GPU does nothing and
 * a step's time is its host work alone. Results are then meaningless.
 *
 * ```ts
 * setHostOnlyDispatch(true); const t0 = performance.now(); await step.run([x, y]); console.log(performance.now() - t0)
 * ```
 */
export function setHostOnlyDispatch(enabled: boolean): void {
  hooksOf(webGpuBackend('setHostOnlyDispatch')).zeroWorkgroups = enabled
}

export function isHostOnlyDispatch(backend: WebGpuBackendInternals): boolean {
  return hooksOf(backend).zeroWorkgroups
}

/**
 * GPU dispatches tfjs-backend-webgpu has issued itself (eager execution; compiled replays not included) since this
 * process first asked: the difference around a step is that step's eager dispatch count.
 */
export function eagerDispatchCount(): number {
  return hooksOf(webGpuBackend('eagerDispatchCount')).dispatchCount
}
