import * as tf from '@tensorflow/tfjs-core'
import os from 'node:os'
import type { Worker } from 'node:worker_threads'
import type { SGDParamGroup } from '@tinylab/checkpoint-io'
import type { BackendInfo, Device } from '../init-backend'
import { CTRL_HAS_MOMENTUM, CTRL_WORDS, abortBarrier } from './_barrier'
import type { FromWorker, Manifest, ReplicaPlanInfo, SharedDtype, SharedShard, SharedState, StepTimings, TensorEntry, ToWorker } from './_protocol'
import { importerPath, startReplicaWorkers } from './_worker-bootstrap'
import type { WorkerLoader } from './_worker-bootstrap'
import type { ReplicaSpec } from './replica-spec'
import type { SgdHyperParameters } from './sharded-sgd'

/** initBackend's devices; 'auto' is wasm plus @tinylab/native-cpu's kernels when installed. */
export type ReplicaDevice = Device

export interface DataParallelOptions {
  /** The model every worker builds (see {@link ReplicaSpec}). */
  replica: ReplicaSpec
  /** Number of replicas (workers). Default: {@link defaultReplicaLayout}. */
  replicas?: number
  /** Backend of every replica (default 'wasm'). WebGPU replicas each request their own adapter/device. */
  device?: ReplicaDevice
  /** wasm threads per replica (default: the machine's cores divided by the replicas, at least 1). */
  threadsPerReplica?: number
  /** torch.optim.SGD hyper-parameters (lr is given to each step). Defaults as torch: all 0 / false. */
  optimizer?: Partial<SgdHyperParameters>
  /** Axis of the batch in x and y (default 0; the word LM's `[seqLen, batch]` uses 1). */
  batchAxis?: number | { x: number; y: number }
  /** Copy replica 0's buffers (BatchNorm running stats) to all replicas after each step, like DDP's default. */
  broadcastBuffers?: boolean
  /**
   * Device 'webgpu' only (ignored elsewhere): each replica runs its forward + backward as a compiled step of
   * `@tinylab/webgpu-backend` (default true): the first 3 calls of each batch shape run eagerly while it is traced,
   * later ones replay the recorded plan with one submit, reading the loss, gradients and logits back together.
   * Dropout noise is then drawn on the GPU (`hostRandom: 'gpu-uniform'`, seeded by rank), not by tf.dropout on the CPU.
   * A step the trace cannot replay runs eagerly after a one-line notice. `StepResult.plans` says what ran.
   */
  compile?: boolean
  /** How workers load code: 'auto' (vite-node from TypeScript sources, plain Node from the build). */
  loader?: WorkerLoader
  /** Vite config for vite-node workers (default: the nearest vite.config.ts above the current directory). */
  viteConfig?: string
}

/** A tensor's values outside any tfjs engine: what crosses between threads. */
export interface NamedArray {
  name: string
  shape: number[]
  dtype: SharedDtype
  kind: 'parameter' | 'buffer'
  data: Float32Array | Int32Array
}

/** A batch input: a tfjs tensor (read on the calling thread) or its raw values. */
export type BatchInput = tf.Tensor | { data: Float32Array | Int32Array; shape: readonly number[] }

export interface StepOptions {
  /** clip_grad_norm_ on the all-reduced gradient before the update (the word LM's `--clip`); 0 = off. */
  clipGradNorm?: number
  /**
   * Count top-k hits on the training batch for these k (e.g. `[1, 5]`), from the logits of the same forward pass;
   * needs a replica with `lossWithOutput` (models wrapped with cross-entropy have it). Default: none.
   */
  topk?: number[]
}

export interface StepResult {
  /** Mean loss over the whole batch (shard losses weighted by shard size). */
  loss: number
  /** Total gradient norm before clipping, when clipping was asked for. */
  gradNorm?: number
  /** `tf.memory().numTensors` of each replica after the step (flat from step to step: no leak). */
  numTensors: number[]
  /** Per replica: ms spent computing gradients, waiting for the others, reducing + updating, loading parameters. */
  timings: StepTimings[]
  /** With `topk`: for each k, how many examples of the whole batch had their label in the top k (accuracy = 100·hits/batch). */
  correct?: number[]
  /** WebGPU replicas with `compile`: each replica's compiled step (mode, dispatches per replay, replays so far). */
  plans?: ReplicaPlanInfo[]
}

/** torch.optim.SGD `state_dict()` layout, as train-loop's SGD uses it. */
export interface DataParallelOptimizerState {
  state: Record<number, { momentum_buffer: tf.Tensor }>
  param_groups: SGDParamGroup[]
}

export interface DataParallel {
  readonly replicas: number
  /** What each replica's initBackend chose. */
  readonly backends: readonly BackendInfo[]
  /** One synchronous data-parallel SGD step on the whole batch; resolves to the batch's mean loss. */
  step(x: BatchInput, y: BatchInput, lr: number, options?: StepOptions): Promise<StepResult>
  /** Current parameters, then buffers (replica 0's), as copies. */
  getParameters(): NamedArray[]
  /** Replaces parameters/buffers by name on every replica (e.g. from a checkpoint: `model.namedTensors()`). */
  setParameters(values: ReadonlyArray<NamedArray | { name: string; value: tf.Tensor }>): Promise<void>
  /** Assigns the current values to variables with the same names (a main-thread model for evaluation or saving). */
  assignTo(tensors: ReadonlyArray<{ name: string; value: tf.Variable }>): void
  optimizerStateDict(): DataParallelOptimizerState
  loadOptimizerStateDict(state: DataParallelOptimizerState): void
  dispose(): Promise<void>
}

/**
 * The replica layout used when `replicas` is not given. On a CPU, wasm replicas with one thread each beat one replica
 * with as many threads (see `pnpm bench devices` and the README), so wasm gets one replica per core; other devices
 * get one replica.
 */
export function defaultReplicaLayout(device: ReplicaDevice, cores = os.availableParallelism()): { replicas: number; threadsPerReplica: number } {
  if (device === 'wasm' || device === 'auto') return { replicas: Math.max(1, cores), threadsPerReplica: 1 }
  return { replicas: 1, threadsPerReplica: 1 }
}

/**
 * Synchronous data parallelism, as PyTorch's DistributedDataParallel: N replicas in worker threads (each its own tfjs
 * engine and backend) start from replica 0's weights, each step computes gradients on 1/N of the batch, all-reduces
 * them (shard-size weighted average) through shared memory, and every replica applies the same torch.optim.SGD update,
 * so N replicas follow one replica on the whole batch. BatchNorm statistics stay per replica (no SyncBN); with
 * `broadcastBuffers` replica 0's are copied to the others after each step.
 *
 * ```ts
 * const dp = await createDataParallel({
 *   replicas: 2, device: 'wasm', threadsPerReplica: 1,
 *   replica: { module: '@tinylab/resnet-models', export: 'resnet18', options: { numClasses: 200 }, from: import.meta.url },
 *   optimizer: { momentum: 0.9, weightDecay: 1e-4 },
 * })
 * const { loss } = await dp.step(x, y, 0.1) // x: [64, 64, 64, 3] float32, y: [64] int32
 * await dp.dispose()
 * ```
 */
export async function createDataParallel(options: DataParallelOptions): Promise<DataParallel> {
  const device = options.device ?? 'wasm'
  const layout = defaultReplicaLayout(device)
  const replicas = options.replicas ?? layout.replicas
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`createDataParallel: replicas must be an integer >= 1, got ${replicas}`)
  const threads = options.threadsPerReplica ?? Math.max(1, Math.floor(os.availableParallelism() / replicas))
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`createDataParallel: threadsPerReplica must be an integer >= 1, got ${threads}`)
  const hyper: SgdHyperParameters = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options.optimizer }
  if (hyper.nesterov && (hyper.momentum <= 0 || hyper.dampening !== 0)) {
    throw new Error('createDataParallel: nesterov momentum requires a momentum and zero dampening (as torch.optim.SGD)')
  }
  const axes = typeof options.batchAxis === 'object' ? options.batchAxis : { x: options.batchAxis ?? 0, y: options.batchAxis ?? 0 }
  const spec: ReplicaSpec = { ...options.replica, from: importerPath(options.replica.from) }
  const configs = Array.from({ length: replicas }, (_, rank) => ({
    rank,
    replicas,
    spec,
    backend: device === 'wasm' || device === 'auto' ? { device, threads } : { device },
    hyper,
    broadcastBuffers: options.broadcastBuffers ?? true,
    compile: device === 'webgpu' && (options.compile ?? true),
  }))
  const started = await startReplicaWorkers(configs, { loader: options.loader ?? 'auto', viteConfig: options.viteConfig })
  const group = new WorkerGroup(started.close)
  for (const worker of started.workers) group.add(worker)
  try {
    const manifests = await group.collect('manifest')
    const first = manifests[0] as Extract<FromWorker, { type: 'manifest' }>
    for (const m of manifests) checkSameManifest(first.manifest, m.manifest, m.rank)
    const coordinator = new Coordinator(group, first.manifest, hyper, axes, manifests.map((m) => m.backend))
    await coordinator.init()
    return coordinator
  } catch (error) {
    await group.terminate()
    throw error
  }
}

type Reply<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>

/** The workers and the one request they are answering now. */
class WorkerGroup {
  readonly workers: Worker[] = []
  ctrl: Int32Array | undefined
  private pending: { type: FromWorker['type']; replies: FromWorker[]; resolve: (r: FromWorker[]) => void; reject: (e: Error) => void } | undefined
  private failure: Error | undefined
  private closing = false

  constructor(private readonly closeLoader: () => Promise<void>) {}

  add(worker: Worker): void {
    const rank = this.workers.length
    this.workers.push(worker)
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'error') this.fail(new Error(`data-parallel replica ${message.rank} failed: ${message.message}`))
      else if (this.pending && message.type === this.pending.type) {
        this.pending.replies.push(message)
        if (this.pending.replies.length === this.workers.length) {
          const { resolve, replies } = this.pending
          this.pending = undefined
          resolve(replies.sort((a, b) => rankOf(a) - rankOf(b)))
        }
      }
    })
    worker.on('error', (error) => this.fail(new Error(`data-parallel replica ${rank} crashed: ${error.stack ?? error.message}`)))
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`data-parallel replica ${rank} exited (code ${code})`))
    })
  }

  /** Waits for one reply of `type` from every worker. */
  collect<T extends FromWorker['type']>(type: T): Promise<Reply<T>[]> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.pending) return Promise.reject(new Error(`data-parallel: '${type}' requested while '${this.pending.type}' is still running (await each step)`))
    return new Promise((resolve, reject) => {
      this.pending = { type, replies: [], resolve: resolve as (r: FromWorker[]) => void, reject }
    })
  }

  send(rank: number, message: ToWorker): void {
    ;(this.workers[rank] as Worker).postMessage(message)
  }

  async request<T extends FromWorker['type']>(type: T, message: (rank: number) => ToWorker): Promise<Reply<T>[]> {
    const replies = this.collect(type)
    if (!this.failure) this.workers.forEach((_, rank) => this.send(rank, message(rank)))
    return replies
  }

  fail(error: Error): void {
    this.failure ??= error
    if (this.ctrl) abortBarrier(this.ctrl)
    const pending = this.pending
    this.pending = undefined
    pending?.reject(this.failure)
  }

  async terminate(): Promise<void> {
    this.closing = true
    await Promise.all(this.workers.map((w) => w.terminate()))
    await this.closeLoader()
  }
}

function rankOf(message: FromWorker): number {
  return message.rank
}

class Coordinator implements DataParallel {
  readonly replicas: number
  private readonly shared: SharedState
  private readonly params: Float32Array
  private readonly momentum: Float32Array
  private readonly buffers: Float32Array
  private readonly ctrl: Int32Array
  private inputs: { x?: SharedArrayBuffer; y?: SharedArrayBuffer } = {}
  private lr = 0
  private disposed = false

  constructor(
    private readonly group: WorkerGroup,
    private readonly manifest: Manifest,
    private readonly hyper: SgdHyperParameters,
    private readonly axes: { x: number; y: number },
    readonly backends: readonly BackendInfo[],
  ) {
    this.replicas = group.workers.length
    const P = manifest.parameterCount
    this.shared = {
      ctrl: new SharedArrayBuffer(CTRL_WORDS * 4),
      params: new SharedArrayBuffer(P * 4),
      momentum: new SharedArrayBuffer(P * 4),
      grads: new SharedArrayBuffer(this.replicas * P * 4),
      buffers: new SharedArrayBuffer(manifest.bufferCount * 4),
      norms: new SharedArrayBuffer(this.replicas * 8),
    }
    this.ctrl = new Int32Array(this.shared.ctrl)
    this.params = new Float32Array(this.shared.params)
    this.momentum = new Float32Array(this.shared.momentum)
    this.buffers = new Float32Array(this.shared.buffers)
    group.ctrl = this.ctrl
  }

  async init(): Promise<void> {
    await this.group.request('initialized', () => ({ type: 'init', shared: this.shared, manifest: this.manifest }))
  }

  async step(x: BatchInput, y: BatchInput, lr: number, options: StepOptions = {}): Promise<StepResult> {
    if (this.disposed) throw new Error('DataParallel.step: already disposed')
    if (!(lr >= 0)) throw new Error(`DataParallel.step: invalid learning rate lr=${lr}`)
    const xa = await arrayOf(x, 'x')
    const ya = await arrayOf(y, 'y')
    const batch = batchSize(xa.shape, this.axes.x, 'x')
    if (batchSize(ya.shape, this.axes.y, 'y') !== batch) {
      throw new Error(`DataParallel.step: x has batch ${batch} on axis ${this.axes.x} but y has ${ya.shape[this.axes.y]} on axis ${this.axes.y}`)
    }
    if (batch === 0) throw new Error('DataParallel.step: empty batch')
    const bounds = shardBounds(batch, this.replicas)
    const xShards = this.writeShards('x', xa, this.axes.x, bounds)
    const yShards = this.writeShards('y', ya, this.axes.y, bounds)
    const clip = options.clipGradNorm ?? 0
    const topk = options.topk ?? []
    const replies = await this.group.request('stepped', (rank) => ({
      type: 'step',
      lr,
      clipGradNorm: clip,
      weight: ((bounds[rank + 1] as number) - (bounds[rank] as number)) / batch,
      x: xShards[rank] as SharedShard,
      y: yShards[rank] as SharedShard,
      topk,
    }))
    this.lr = lr
    let loss = 0
    replies.forEach((r, rank) => {
      loss += (((bounds[rank + 1] as number) - (bounds[rank] as number)) / batch) * r.loss
    })
    const gradNorm = replies[0]?.gradNorm
    const numTensors = replies.map((r) => r.numTensors)
    const timings = replies.map((r) => r.timings)
    const result: StepResult = { loss, numTensors, timings }
    if (clip > 0 && gradNorm !== undefined) result.gradNorm = gradNorm
    if (topk.length > 0) result.correct = topk.map((_, i) => replies.reduce((sum, r) => sum + (r.correct[i] ?? 0), 0))
    const plans = replies.flatMap((r) => (r.plan === undefined ? [] : [r.plan]))
    if (plans.length > 0) result.plans = plans
    return result
  }

  /**
   * Copies each replica's shard into one SharedArrayBuffer, contiguously, so a replica reads its shard in place
   * (for batch axis 0 this is one straight copy of the batch).
   */
  private writeShards(which: 'x' | 'y', input: { data: Float32Array | Int32Array; shape: number[]; dtype: SharedDtype }, axis: number, bounds: number[]): SharedShard[] {
    const bytes = input.data.length * 4
    let buffer = this.inputs[which]
    if (buffer === undefined || buffer.byteLength < bytes) {
      buffer = new SharedArrayBuffer(bytes)
      this.inputs[which] = buffer
    }
    const target = input.dtype === 'int32' ? new Int32Array(buffer) : new Float32Array(buffer)
    const outer = input.shape.slice(0, axis).reduce((a, b) => a * b, 1)
    const inner = input.shape.slice(axis + 1).reduce((a, b) => a * b, 1)
    const batch = input.shape[axis] as number
    const shards: SharedShard[] = []
    let offset = 0
    for (let r = 0; r < this.replicas; r++) {
      const start = bounds[r] as number
      const rows = (bounds[r + 1] as number) - start
      for (let o = 0; o < outer; o++) {
        const from = (o * batch + start) * inner
        target.set(input.data.subarray(from, from + rows * inner), offset + o * rows * inner)
      }
      const shape = [...input.shape]
      shape[axis] = rows
      shards.push({ buffer, dtype: input.dtype, offset, shape })
      offset += outer * rows * inner
    }
    return shards
  }

  getParameters(): NamedArray[] {
    const read = (e: TensorEntry, from: Float32Array): NamedArray => {
      const flat = from.slice(e.offset, e.offset + e.size)
      return { name: e.name, shape: [...e.shape], dtype: e.dtype, kind: e.kind, data: e.dtype === 'int32' ? Int32Array.from(flat) : flat }
    }
    return [...this.manifest.parameters.map((e) => read(e, this.params)), ...this.manifest.buffers.map((e) => read(e, this.buffers))]
  }

  async setParameters(values: ReadonlyArray<NamedArray | { name: string; value: tf.Tensor }>): Promise<void> {
    const byName = new Map<string, TensorEntry>()
    for (const e of [...this.manifest.parameters, ...this.manifest.buffers]) byName.set(e.name, e)
    for (const v of values) {
      const e = byName.get(v.name)
      if (e === undefined) continue
      const data = 'data' in v ? v.data : await v.value.data()
      const shape = 'data' in v ? v.shape : v.value.shape
      if (!sameShape(shape, e.shape)) throw new Error(`DataParallel.setParameters: '${v.name}' has shape [${shape}], the replicas have [${e.shape}]`)
      ;(e.kind === 'parameter' ? this.params : this.buffers).set(data, e.offset)
    }
    await this.group.request('loaded', () => ({ type: 'load' }))
  }

  assignTo(tensors: ReadonlyArray<{ name: string; value: tf.Variable }>): void {
    const values = new Map(this.getParameters().map((a) => [a.name, a]))
    tf.tidy(() => {
      for (const t of tensors) {
        const a = values.get(t.name)
        if (a === undefined) throw new Error(`DataParallel.assignTo: the replicas have no tensor named '${t.name}'`)
        if (!sameShape(a.shape, t.value.shape)) throw new Error(`DataParallel.assignTo: '${t.name}' is [${a.shape}] here, [${t.value.shape}] there`)
        t.value.assign(tf.tensor(a.data, a.shape, t.value.dtype === 'int32' ? 'int32' : a.dtype))
      }
    })
  }

  optimizerStateDict(): DataParallelOptimizerState {
    const state: DataParallelOptimizerState['state'] = {}
    if (this.hyper.momentum !== 0 && Atomics.load(this.ctrl, CTRL_HAS_MOMENTUM) === 1) {
      this.manifest.parameters.forEach((e, i) => {
        state[i] = { momentum_buffer: tf.tensor(this.momentum.slice(e.offset, e.offset + e.size), e.shape) }
      })
    }
    return {
      state,
      param_groups: [
        {
          lr: this.lr,
          momentum: this.hyper.momentum,
          dampening: this.hyper.dampening,
          weight_decay: this.hyper.weightDecay,
          nesterov: this.hyper.nesterov,
          maximize: false,
          foreach: null,
          differentiable: false,
          params: this.manifest.parameters.map((_, i) => i),
        },
      ],
    }
  }

  loadOptimizerStateDict(dict: DataParallelOptimizerState): void {
    const group = dict.param_groups[0]
    if (group === undefined || dict.param_groups.length !== 1) throw new Error(`loadOptimizerStateDict: expected one param group, got ${dict.param_groups.length}`)
    if (group.params.length !== this.manifest.parameters.length) {
      throw new Error(`loadOptimizerStateDict: state has ${group.params.length} parameters, the replicas have ${this.manifest.parameters.length}`)
    }
    const mine = { momentum: this.hyper.momentum, dampening: this.hyper.dampening, weight_decay: this.hyper.weightDecay, nesterov: this.hyper.nesterov }
    for (const key of ['momentum', 'dampening', 'weight_decay', 'nesterov'] as const) {
      if (group[key] !== mine[key]) throw new Error(`loadOptimizerStateDict: ${key}=${String(group[key])} in the state, ${String(mine[key])} here`)
    }
    const indices = Object.keys(dict.state).map(Number)
    if (indices.length !== 0 && indices.length !== this.manifest.parameters.length) {
      throw new Error(`loadOptimizerStateDict: momentum buffers for ${indices.length} of ${this.manifest.parameters.length} parameters; all or none are supported`)
    }
    for (const i of indices) {
      const e = this.manifest.parameters[i]
      const buf = dict.state[i]?.momentum_buffer
      if (e === undefined || buf === undefined) throw new Error(`loadOptimizerStateDict: parameter index ${i} out of range`)
      if (!sameShape(buf.shape, e.shape)) throw new Error(`loadOptimizerStateDict: momentum_buffer ${i} ('${e.name}') is [${buf.shape}], parameter is [${e.shape}]`)
      this.momentum.set(buf.dataSync() as Float32Array, e.offset)
    }
    // The replicas read this flag at their next step: shared memory needs no message.
    Atomics.store(this.ctrl, CTRL_HAS_MOMENTUM, indices.length > 0 ? 1 : 0)
    this.lr = group.lr
  }

  async dispose(): Promise<void> {
    if (this.disposed) return
    this.disposed = true
    await this.group.terminate()
  }
}

function checkSameManifest(a: Manifest, b: Manifest, rank: number): void {
  const describe = (m: Manifest): string => [...m.parameters, ...m.buffers].map((e) => `${e.name}:${e.dtype}[${e.shape}]`).join(',')
  if (describe(a) !== describe(b)) throw new Error(`data-parallel: replica ${rank} built a model with different tensors than replica 0`)
}

/** Shard boundaries: the first `batch % replicas` replicas take one row more (torch's DistributedSampler splits evenly). */
export function shardBounds(batch: number, replicas: number): number[] {
  const base = Math.floor(batch / replicas)
  const extra = batch % replicas
  const bounds = [0]
  for (let r = 0; r < replicas; r++) bounds.push((bounds[r] as number) + base + (r < extra ? 1 : 0))
  return bounds
}

function batchSize(shape: readonly number[], axis: number, what: string): number {
  const n = shape[axis]
  if (n === undefined) throw new Error(`DataParallel.step: ${what} has shape [${shape}], no batch axis ${axis}`)
  return n
}

async function arrayOf(input: BatchInput, what: string): Promise<{ data: Float32Array | Int32Array; shape: number[]; dtype: SharedDtype }> {
  // Duck-typed: a tensor from another tfjs-core copy (ESM vs CJS) is not `instanceof tf.Tensor` here.
  if (isTensor(input)) {
    if (input.dtype !== 'float32' && input.dtype !== 'int32') throw new Error(`DataParallel.step: ${what} is ${input.dtype}; float32 or int32 expected`)
    return { data: (await input.data()) as Float32Array | Int32Array, shape: [...input.shape], dtype: input.dtype }
  }
  const size = input.shape.reduce((a, b) => a * b, 1)
  if (size !== input.data.length) throw new Error(`DataParallel.step: ${what} has ${input.data.length} values for shape [${input.shape}]`)
  return { data: input.data, shape: [...input.shape], dtype: input.data instanceof Int32Array ? 'int32' : 'float32' }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

function isTensor(input: BatchInput): input is tf.Tensor {
  return typeof (input as tf.Tensor).data === 'function' && typeof (input as tf.Tensor).dtype === 'string'
}
