// A traced step turned into fixed GPU objects: every buffer allocated once (temporaries share an arena by liveness),
// every bind group and uniform built once; a replay is one command encoder, one compute pass and one submit.
import type * as tf from '@tensorflow/tfjs-core'
import type { RecordedDispatch, WebGpuBackendInternals } from './backend-hooks'
import { flushTfjs, isHostOnlyDispatch } from './backend-hooks'
import type { FusionCounts } from './fuse'
import { fuseTrace } from './fuse'
import { drawsPerDispatch, drawUniforms, drawWorkgroups, uniformDrawPipeline } from './random-uniform'
import { ReadbackRing } from './readback-ring'
import { UploadRing } from './upload-ring'
import type { Trace } from './trace'
import { variableSlot } from './variable-slots'

type DataId = object

/** Bytes a plan holds on the GPU, by purpose. */
export interface PlanMemory {
  /** Temporaries, sharing buffers by liveness. */
  arenaBytes: number
  /** What the temporaries would take without sharing (each its own buffer). */
  unplannedBytes: number
  inputBytes: number
  /** Constants uploaded by the step and tensors it read that existed before it. */
  constantBytes: number
  uniformBytes: number
  /** Staging buffers for writing CPU inputs and reading results back (each pool grows with the steps in flight). */
  stagingBytes: number
  /** Everything above: the plan's own GPU memory, fixed after the first replays. */
  totalBytes: number
}

interface PlannedDispatch {
  pipeline: GPUComputePipeline
  bindGroup: GPUBindGroup
  workgroups: [number, number, number]
  program: string
  shapes?: number[][]
}

/** One dispatch of a profiled replay: its program, its tensors' shapes when known, and its GPU time. */
export interface DispatchTime {
  /** tfjs's program class ('Conv2DMMProgram'), 'Fused:<pattern>' or 'UniformDraw'. */
  program: string
  /** The output's shape, then the inputs' (tfjs's own dispatches only). */
  shapes?: number[][]
  /** GPU time between the start and the end of the dispatch's compute pass (timestamp queries), in ms. */
  ms: number
}

const STORAGE = 0x80 // GPUBufferUsage.STORAGE (the constants are not in Node's globals before Dawn loads)
const COPY_SRC = 0x04
const COPY_DST = 0x08
const UNIFORM = 0x40

const align = (n: number, to: number): number => Math.ceil(n / to) * to

export class ReplayPlan {
  readonly dispatchCount: number
  readonly programCounts: ReadonlyMap<string, number>
  /** Patterns replaced by fused dispatches (all zero when built with `fuse` false). */
  readonly fusions: FusionCounts
  private readonly device: GPUDevice
  private readonly seed: number
  private readonly dispatches: PlannedDispatch[] = []
  private readonly owned: GPUBuffer[] = []
  private readonly inputBuffers: GPUBuffer[] = []
  private readonly uploadRings: UploadRing[] = []
  private readonly stateCopies: { from: GPUBuffer; variable: tf.Variable; bytes: number }[] = []
  private readonly outputBuffers: { buffer: GPUBuffer; bytes: number }[] = []
  private readonly readback: ReadbackRing
  /** Uploads redrawn on the GPU at every replay (hostRandom 'gpu-uniform'), and the replay count they are drawn from. */
  private readonly draws: { buffer: GPUBuffer; stream: number; size: number }[] = []
  private drawCounter: GPUBuffer | undefined
  private readonly replayCount = new Uint32Array(4)
  private readonly sizes = { arenaBytes: 0, unplannedBytes: 0, inputBytes: 0, constantBytes: 0, uniformBytes: 0 }

  constructor(
    private readonly backend: WebGpuBackendInternals,
    private readonly trace: Trace,
    readonly inputShapes: readonly number[][],
    readonly inputDtypes: readonly tf.DataType[],
    options: { fuse: boolean; seed: number } = { fuse: true, seed: 0 },
  ) {
    this.device = backend.device
    this.seed = options.seed
    this.fusions = options.fuse ? fuseTrace(this.device, trace) : { reluGrad: 0, reluGradOfSum: 0, relu: 0, runningStats: 0, columnSums: 0, scaled: 0, dropout: 0, dropoutAdd: 0 }
    const folded = foldConstants(trace)
    const buffers = this.placeValues(folded.values)
    this.buildDispatches(buffers)
    this.runOnce(folded.dispatches, buffers)
    this.dispatchCount = this.dispatches.length
    const counts = new Map<string, number>()
    if (this.draws.length > 0) counts.set('UniformDraw', Math.ceil(this.draws.length / drawsPerDispatch(this.device)))
    for (const d of trace.dispatches) counts.set(d.program, (counts.get(d.program) ?? 0) + 1)
    this.programCounts = counts
    for (const w of trace.stateWrites) {
      const from = buffers.get(w.value) as GPUBuffer
      this.stateCopies.push({ from, variable: w.variable, bytes: trace.bytes.get(w.value) ?? 0 })
    }
    trace.outputs.forEach((id) => this.outputBuffers.push({ buffer: buffers.get(id) as GPUBuffer, bytes: trace.bytes.get(id) ?? 0 }))
    this.readback = new ReadbackRing(this.device, this.outputBuffers.map((o) => o.bytes), trace.outputDtypes)
  }

  private createBuffer(bytes: number, usage: number): GPUBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(16, align(bytes, 16)), usage })
    this.owned.push(buffer)
    return buffer
  }

  /** A GPU buffer for every value the step binds; `folded` values (computed once) get buffers of their own. */
  private placeValues(folded: ReadonlySet<DataId>): Map<DataId, GPUBuffer> {
    const { trace, backend } = this
    const buffers = new Map<DataId, GPUBuffer>()
    const lifetimes = new Map<DataId, { first: number; last: number }>()
    trace.dispatches.forEach((d, i) => {
      for (const id of [d.output, ...d.inputs]) {
        const span = lifetimes.get(id)
        if (span === undefined) lifetimes.set(id, { first: i, last: i })
        else span.last = i
      }
    })
    // Values the step's end still needs: returned outputs and the variables' new values.
    for (const id of [...trace.outputs, ...trace.stateWrites.map((w) => w.value)]) {
      const span = lifetimes.get(id)
      if (span !== undefined) span.last = Number.POSITIVE_INFINITY
    }
    const temps: { id: DataId; first: number; last: number; bytes: number }[] = []
    const init = this.device.createCommandEncoder()
    for (const [id, role] of trace.roles) {
      const bytes = trace.bytes.get(id) ?? 0
      switch (role.kind) {
        case 'input': {
          let buffer = this.inputBuffers[role.index]
          if (buffer === undefined) {
            buffer = this.createBuffer(bytes, STORAGE | COPY_SRC | COPY_DST)
            this.inputBuffers[role.index] = buffer
            this.uploadRings[role.index] = new UploadRing(this.device, bytes)
            this.sizes.inputBytes += buffer.size
          }
          buffers.set(id, buffer)
          break
        }
        case 'state':
          buffers.set(id, variableSlot(backend, role.variable).buffer)
          break
        case 'frozen': {
          const source = backend.tensorMap.has(id) ? backend.tensorMap.get(id).resource : undefined
          if (!(source instanceof GPUBuffer)) throw new Error(`compiled step: tensor #${role.id}, created before the step and read by it, was disposed before the plan was built`)
          const buffer = this.createBuffer(bytes, STORAGE | COPY_DST | COPY_SRC)
          init.copyBufferToBuffer(source, 0, buffer, 0, bytes)
          this.sizes.constantBytes += buffer.size
          buffers.set(id, buffer)
          break
        }
        case 'constant': {
          const upload = trace.uploads[role.upload]
          const buffer = this.createBuffer(bytes, STORAGE | COPY_DST | COPY_SRC)
          if (trace.randomUploads.has(role.upload)) this.draws.push({ buffer, stream: role.upload, size: bytes / 4 })
          else if (upload !== undefined) this.device.queue.writeBuffer(buffer, 0, upload.bytes)
          this.sizes.constantBytes += buffer.size
          buffers.set(id, buffer)
          break
        }
        case 'temp': {
          if (folded.has(id)) {
            const buffer = this.createBuffer(bytes, STORAGE | COPY_SRC | COPY_DST)
            this.sizes.constantBytes += buffer.size
            buffers.set(id, buffer)
            break
          }
          const span = lifetimes.get(id)
          if (span === undefined) break // computed only inside a pattern that fusion replaced
          temps.push({ id, ...span, bytes })
          break
        }
      }
    }
    flushTfjs(backend)
    this.device.queue.submit([init.finish()])

    // Greedy interval allocation: in order of first use, the smallest free buffer that fits, else a new one.
    // Dispatches of one pass run in order with barriers between them, so a buffer may hold a new value as soon as the
    // last dispatch reading the previous one has been issued.
    temps.sort((a, b) => a.first - b.first)
    const arena: { buffer: GPUBuffer; freeAfter: number }[] = []
    for (const t of temps) {
      this.sizes.unplannedBytes += align(t.bytes, 16)
      let best: { buffer: GPUBuffer; freeAfter: number } | undefined
      for (const slot of arena) {
        if (slot.freeAfter < t.first && slot.buffer.size >= t.bytes && (best === undefined || slot.buffer.size < best.buffer.size)) best = slot
      }
      if (best === undefined) {
        best = { buffer: this.createBuffer(t.bytes, STORAGE | COPY_SRC | COPY_DST), freeAfter: t.last }
        arena.push(best)
        this.sizes.arenaBytes += best.buffer.size
      }
      best.freeAfter = t.last
      buffers.set(t.id, best.buffer)
    }
    return buffers
  }

  private buildDispatches(buffers: Map<DataId, GPUBuffer>): void {
    const { device } = this
    // The GPU draws first: every dispatch that reads a drawn tensor comes after them. As many tensors per dispatch as
    // a shader may bind.
    if (this.draws.length > 0) {
      const counter = this.createBuffer(16, UNIFORM | COPY_DST)
      this.drawCounter = counter
      const perDispatch = drawsPerDispatch(device)
      for (let first = 0; first < this.draws.length; first += perDispatch) {
        const group = this.draws.slice(first, first + perDispatch)
        const pipeline = uniformDrawPipeline(device, group.length)
        const params = this.createBuffer(16 * group.length, UNIFORM | COPY_DST)
        device.queue.writeBuffer(params, 0, drawUniforms(group, this.seed))
        this.sizes.uniformBytes += params.size
        const bindGroup = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: params } },
            { binding: 1, resource: { buffer: counter } },
            ...group.map((draw, t) => ({ binding: t + 2, resource: { buffer: draw.buffer, offset: 0, size: draw.size * 4 } })),
          ],
        })
        this.dispatches.push({ pipeline, bindGroup, workgroups: drawWorkgroups(group), program: 'UniformDraw' })
      }
    }
    this.dispatches.push(...this.bindDispatches(this.trace.dispatches, buffers))
  }

  /** Bind groups for recorded dispatches, their uniform blocks packed into one buffer (identical blocks share a range). */
  private bindDispatches(list: readonly RecordedDispatch[], buffers: Map<DataId, GPUBuffer>): PlannedDispatch[] {
    const { device } = this
    const alignment = device.limits.minUniformBufferOffsetAlignment
    const offsets = new Map<string, number>()
    let total = 0
    const offsetOf = list.map((d) => {
      const key = Buffer.from(d.uniform).toString('base64')
      let offset = offsets.get(key)
      if (offset === undefined) {
        offset = total
        offsets.set(key, offset)
        total = align(total + d.uniform.byteLength, alignment)
      }
      return offset
    })
    const uniformBuffer = this.createBuffer(Math.max(total, 16), UNIFORM | COPY_DST)
    this.sizes.uniformBytes += uniformBuffer.size
    const packed = new Uint8Array(uniformBuffer.size)
    for (const [key, offset] of offsets) packed.set(Buffer.from(key, 'base64'), offset)
    device.queue.writeBuffer(uniformBuffer, 0, packed)
    return list.map((d, i) => {
      const values = [d.output, ...d.inputs]
      const entries: GPUBindGroupEntry[] = values.map((id, binding) => ({
        binding,
        resource: { buffer: buffers.get(id) as GPUBuffer, offset: 0, size: align(d.sizes[binding] ?? 4, 4) },
      }))
      entries.push({ binding: values.length, resource: { buffer: uniformBuffer, offset: offsetOf[i] as number, size: d.uniform.byteLength } })
      const bindGroup = device.createBindGroup({ layout: d.pipeline.getBindGroupLayout(0), entries })
      return { pipeline: d.pipeline, bindGroup, workgroups: d.workgroups, program: d.program, shapes: d.shapes }
    })
  }

  /** Computes the folded values once, after the constants they read were written. */
  private runOnce(list: readonly RecordedDispatch[], buffers: Map<DataId, GPUBuffer>): void {
    if (list.length === 0) return
    const encoder = this.device.createCommandEncoder()
    const pass = encoder.beginComputePass()
    for (const d of this.bindDispatches(list, buffers)) {
      pass.setPipeline(d.pipeline)
      pass.setBindGroup(0, d.bindGroup)
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2])
    }
    pass.end()
    this.device.queue.submit([encoder.finish()])
  }

  /** Checks the inputs against the traced ones; the message names the first that differs. */
  checkInputs(inputs: readonly tf.Tensor[]): void {
    if (inputs.length !== this.inputShapes.length) {
      throw new Error(`compiled step: traced with ${this.inputShapes.length} inputs, called with ${inputs.length}`)
    }
    inputs.forEach((t, i) => {
      const shape = this.inputShapes[i] as number[]
      if (t.dtype !== this.inputDtypes[i] || t.shape.length !== shape.length || t.shape.some((n, k) => n !== shape[k])) {
        throw new Error(
          `compiled step: input ${i} is ${t.dtype}[${t.shape}] but the step was traced with ${this.inputDtypes[i]}[${shape}]; ` +
            'a compiled step has fixed shapes (compile another step for this shape, or run it eagerly)',
        )
      }
    })
  }

  /**
   * One step: the inputs written into their buffers, the recorded dispatches in one pass, the variables' new values
   * copied into their fixed buffers, the outputs copied to a staging buffer; one submit. Resolves when the outputs
   * have been read back (a later step can be submitted before then).
   */
  run(inputs: readonly tf.Tensor[]): Promise<(Float32Array | Int32Array)[]> {
    return this.replay(inputs, (encoder) => {
      const pass = encoder.beginComputePass()
      const zero = isHostOnlyDispatch(this.backend)
      let pipeline: GPUComputePipeline | undefined
      for (const d of this.dispatches) {
        if (d.pipeline !== pipeline) {
          pass.setPipeline(d.pipeline)
          pipeline = d.pipeline
        }
        pass.setBindGroup(0, d.bindGroup)
        if (zero) pass.dispatchWorkgroups(0, 0, 0)
        else pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2])
      }
      pass.end()
    })
  }

  /**
   * One step as `run` does it, with every dispatch in a compute pass of its own whose start and end are timestamped:
   * the GPU time of each kernel (the passes' boundaries add a little to each). Needs the device feature
   * 'timestamp-query' (startWebGpu requests it where the adapter offers it).
   */
  async profile(inputs: readonly tf.Tensor[]): Promise<{ values: (Float32Array | Int32Array)[]; dispatches: DispatchTime[] }> {
    const { device } = this
    if (!device.features.has('timestamp-query')) throw new Error("compiled step: profiling needs the WebGPU feature 'timestamp-query', which this adapter does not offer")
    const count = this.dispatches.length * 2
    const querySet = device.createQuerySet({ type: 'timestamp', count })
    const resolved = device.createBuffer({ size: count * 8, usage: 0x200 | COPY_SRC }) // QUERY_RESOLVE
    const readable = device.createBuffer({ size: count * 8, usage: 0x01 | COPY_DST }) // MAP_READ
    try {
      const values = await this.replay(inputs, (encoder) => {
        this.dispatches.forEach((d, i) => {
          const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } })
          pass.setPipeline(d.pipeline)
          pass.setBindGroup(0, d.bindGroup)
          pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2])
          pass.end()
        })
        encoder.resolveQuerySet(querySet, 0, count, resolved, 0)
        encoder.copyBufferToBuffer(resolved, 0, readable, 0, count * 8)
      })
      await readable.mapAsync(0x01) // GPUMapMode.READ
      const stamps = new BigInt64Array(readable.getMappedRange().slice(0))
      readable.unmap()
      const dispatches = this.dispatches.map((d, i) => ({
        program: d.program,
        ...(d.shapes === undefined ? {} : { shapes: d.shapes }),
        ms: Number((stamps[2 * i + 1] as bigint) - (stamps[2 * i] as bigint)) / 1e6,
      }))
      return { values, dispatches }
    } finally {
      querySet.destroy()
      resolved.destroy()
      readable.destroy()
    }
  }

  /** The commands around the dispatches (inputs in, variables' new values and outputs out) and the submit. */
  private replay(inputs: readonly tf.Tensor[], encodeDispatches: (encoder: GPUCommandEncoder) => void): Promise<(Float32Array | Int32Array)[]> {
    this.checkInputs(inputs)
    const { backend, device } = this
    flushTfjs(backend)
    if (this.drawCounter !== undefined) {
      // Written before the step's commands run: this replay's draws differ from the last one's.
      this.replayCount[0] = ((this.replayCount[0] as number) + 1) >>> 0
      device.queue.writeBuffer(this.drawCounter, 0, this.replayCount)
    }
    const encoder = device.createCommandEncoder()
    const uploads: { ring: UploadRing; buffer: GPUBuffer }[] = []
    inputs.forEach((t, i) => {
      const target = this.inputBuffers[i]
      const ring = this.uploadRings[i]
      if (target === undefined || ring === undefined) return // an input the step never reads on the GPU
      const data = backend.tensorMap.get(t.dataId)
      if (data.resource instanceof GPUBuffer) {
        encoder.copyBufferToBuffer(data.resource, 0, target, 0, data.resource.size)
      } else if (data.values != null) {
        const staging = ring.acquire()
        const mapped = staging.getMappedRange(0, staging.size)
        // set() takes any array-like (data loaders hand over views of shared buffers)
        if (t.dtype === 'float32') new Float32Array(mapped, 0, t.size).set(data.values)
        else new Int32Array(mapped, 0, t.size).set(data.values)
        staging.unmap()
        encoder.copyBufferToBuffer(staging, 0, target, 0, t.size * 4)
        uploads.push({ ring, buffer: staging })
      } else {
        throw new Error(`compiled step: input ${i} has no data on the GPU or the CPU`)
      }
    })
    // Values assigned to variables since the last step, copied into the buffers the plan reads (and held until submitted).
    const held: tf.Tensor[] = []
    for (const v of this.trace.variables) variableSlot(backend, v, { encoder, held })
    encodeDispatches(encoder)
    // Host-only timing leaves the copies empty too: on a software adapter they are CPU work the host would wait for.
    const zero = isHostOnlyDispatch(backend)
    for (const c of this.stateCopies) {
      encoder.copyBufferToBuffer(c.from, 0, variableSlot(backend, c.variable).buffer, 0, zero ? 0 : c.bytes)
      // tfjs keeps a tensor's values on the CPU after its first read and answers later reads from there: the new value
      // is only in the buffer, so the next data() must read it (after this submit).
      backend.tensorMap.get(c.variable.dataId).values = null
    }
    const staging = this.readback.acquire()
    this.outputBuffers.forEach((o, i) => encoder.copyBufferToBuffer(o.buffer, 0, staging.buffers[i] as GPUBuffer, 0, zero ? 0 : o.bytes))
    device.queue.submit([encoder.finish()])
    for (const t of held) t.dispose()
    const remapped = uploads.map((u) => u.ring.release(u.buffer))
    return Promise.all([this.readback.read(staging), ...remapped]).then(([values]) => values)
  }

  memory(): PlanMemory {
    const stagingBytes = this.readback.bytes() + this.uploadRings.reduce((sum, r) => sum + r.totalBytes(), 0)
    const { arenaBytes, unplannedBytes, inputBytes, constantBytes, uniformBytes } = this.sizes
    return { arenaBytes, unplannedBytes, inputBytes, constantBytes, uniformBytes, stagingBytes, totalBytes: arenaBytes + inputBytes + constantBytes + uniformBytes + stagingBytes }
  }

  /** Frees the plan's own buffers (variables keep their fixed buffers). Waits for nothing: call after the last read. */
  dispose(): void {
    for (const b of this.owned) b.destroy()
    this.owned.length = 0
    this.readback.dispose()
    for (const r of this.uploadRings) r.dispose()
  }
}

/**
 * Takes out of `trace.dispatches` those whose inputs never change from one replay to the next (constants, tensors
 * that existed before the step, values computed from them alone: tf.zeros, a slice of a fixed table) and whose
 * outputs no other dispatch writes: a replay would recompute the same values, so the plan computes them once. Returns those dispatches and the values they write.
 */
function foldConstants(trace: Trace): { dispatches: RecordedDispatch[]; values: Set<DataId> } {
  const values = new Set<DataId>()
  const fixed = (id: DataId): boolean => {
    const role = trace.roles.get(id)
    if (role?.kind === 'frozen') return true
    if (role?.kind === 'constant') return !trace.randomUploads.has(role.upload)
    return values.has(id)
  }
  const writtenBy = (d: RecordedDispatch): DataId[] => [d.output, ...d.inputs.slice(d.inputs.length - d.extraOutputs)]
  // A value more than one dispatch writes is updated in place (tfjs's scatter fills its output with zeros, then adds
  // into it): recomputed every replay, never folded.
  const writers = new Map<DataId, number>()
  for (const d of trace.dispatches) for (const id of writtenBy(d)) writers.set(id, (writers.get(id) ?? 0) + 1)
  const dispatches: RecordedDispatch[] = []
  trace.dispatches = trace.dispatches.filter((d) => {
    const read = d.inputs.slice(0, d.inputs.length - d.extraOutputs)
    const written = writtenBy(d)
    if (!read.every(fixed) || !written.every((id) => trace.roles.get(id)?.kind === 'temp' && writers.get(id) === 1)) return true
    for (const id of written) values.add(id)
    dispatches.push(d)
    return false
  })
  return { dispatches, values }
}
