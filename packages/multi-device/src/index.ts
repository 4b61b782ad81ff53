import './register-core'

export { initBackend, stopWasm } from './init-backend'
export type { BackendInfo, Device, InitBackendOptions, WebGpuStartOptions } from './init-backend'
// Data parallelism (src/data-parallel): N replicas in worker threads, gradients all-reduced through shared memory.
export { createDataParallel, defaultReplicaLayout } from './data-parallel/data-parallel'
export type {
  BatchInput,
  DataParallel,
  DataParallelOptimizerState,
  DataParallelOptions,
  NamedArray,
  ReplicaDevice,
  StepOptions,
  StepResult,
} from './data-parallel/data-parallel'
export { startReplicasFrom, syncFromReplicas } from './data-parallel/main-model'
export type { MainModelTensors } from './data-parallel/main-model'
export type { JsonValue, Replica, ReplicaContext, ReplicaModel, ReplicaSpec, ReplicaTensor } from './data-parallel/replica-spec'
export type { SgdHyperParameters } from './data-parallel/sharded-sgd'
export type { WorkerLoader } from './data-parallel/_worker-bootstrap'
/** Entry point of a data-parallel worker started from the built package; not for direct use. */
export { runReplicaWorker } from './data-parallel/replica-worker'
export type { ReplicaPlanInfo, StepTimings } from './data-parallel/_protocol'
