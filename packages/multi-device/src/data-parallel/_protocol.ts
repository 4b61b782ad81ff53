// Messages between the coordinator and its replica workers. Only small control data travels by message; tensors
// travel through the SharedArrayBuffers named here (posting a SharedArrayBuffer shares it, it does not copy it).
import type { BackendInfo, InitBackendOptions } from '../init-backend'
import type { SgdHyperParameters } from './sharded-sgd'
import type { ReplicaSpec } from './replica-spec'

export type SharedDtype = 'float32' | 'int32'

export interface TensorEntry {
  name: string
  shape: number[]
  dtype: SharedDtype
  kind: 'parameter' | 'buffer'
  /** Element offset in the flat parameter (or buffer) vector. */
  offset: number
  size: number
}

export interface Manifest {
  parameters: TensorEntry[]
  buffers: TensorEntry[]
  parameterCount: number
  bufferCount: number
}

export interface SharedState {
  /** Int32 control words (see _barrier.ts). */
  ctrl: SharedArrayBuffer
  /** Float32 [parameterCount]: the parameters; every replica loads them after each update. */
  params: SharedArrayBuffer
  /** Float32 [parameterCount]: SGD momentum buffers. */
  momentum: SharedArrayBuffer
  /** Float32 [replicas, parameterCount]: each replica's weighted gradient; slot 0 receives the sum. */
  grads: SharedArrayBuffer
  /** Float32 [bufferCount]: replica 0's buffers (BatchNorm running stats). */
  buffers: SharedArrayBuffer
  /** Float64 [replicas]: partial squared gradient norms for clipping. */
  norms: SharedArrayBuffer
}

/** A shard: `shape` elements starting at element `offset` of `buffer`. */
export interface SharedShard {
  buffer: SharedArrayBuffer
  dtype: SharedDtype
  offset: number
  shape: number[]
}

export interface WorkerConfig {
  rank: number
  replicas: number
  spec: ReplicaSpec
  backend: InitBackendOptions
  hyper: SgdHyperParameters
  broadcastBuffers: boolean
  /** Device 'webgpu': run forward + backward as a compiled step (DataParallelOptions.compile). */
  compile: boolean
}

export type ToWorker =
  | { type: 'init'; shared: SharedState; manifest: Manifest }
  | { type: 'step'; lr: number; clipGradNorm: number; weight: number; x: SharedShard; y: SharedShard; topk: number[] }
  | { type: 'load' }

export type FromWorker =
  | { type: 'manifest'; rank: number; manifest: Manifest; backend: BackendInfo }
  | { type: 'initialized'; rank: number }
  | { type: 'stepped'; rank: number; loss: number; gradNorm: number; numTensors: number; timings: StepTimings; correct: number[]; plan?: ReplicaPlanInfo }
  | { type: 'loaded'; rank: number }
  | { type: 'error'; rank: number; message: string }

/** Where one replica's step went, in ms: the bench uses it to explain data-parallel overheads. */
export interface StepTimings {
  /** Forward + backward + reading the gradients into shared memory. */
  compute: number
  /** Waiting in barriers for the slower replicas. */
  wait: number
  /** Reduce-scatter, clipping and the SGD update of this replica's slice. */
  update: number
  /** Loading the new parameters (and buffers) into the backend. */
  load: number
}

/** A WebGPU replica's compiled step after a data-parallel step (the plan of that step's batch shape). */
export interface ReplicaPlanInfo {
  /** 'warming-up' (eager calls that trace), 'compiled' (replaying its plan) or 'eager' (it fell back, after a notice). */
  mode: 'warming-up' | 'compiled' | 'eager'
  /** GPU dispatches per replayed step (0 before the plan exists). */
  dispatches: number
  /** Calls run eagerly so far (warm-up and traces). */
  eagerCalls: number
  /** Calls replayed so far. */
  replays: number
}
