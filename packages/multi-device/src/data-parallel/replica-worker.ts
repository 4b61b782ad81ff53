// The replica side of data parallelism: runs inside a worker thread, which has its own module instances and therefore
// its own tfjs engine and backend. Started by the bootstrap in _worker-bootstrap.ts; never imported by user code.
import * as tf from '@tensorflow/tfjs-core'
import { parentPort, workerData } from 'node:worker_threads'
import { topkHits } from '@tinylab/train-loop'
import { initBackend } from '../init-backend'
import { CTRL_HAS_MOMENTUM, barrier } from './_barrier'
import { compiledGradients } from './_compiled-gradients'
import type { CompiledGradients, ReplicaGradients } from './_compiled-gradients'
import type { FromWorker, Manifest, ReplicaPlanInfo, SharedShard, SharedState, StepTimings, TensorEntry, ToWorker, WorkerConfig } from './_protocol'
import { toReplica } from './cross-entropy-replica'
import type { Replica, ReplicaContext, ReplicaTensor } from './replica-spec'
import { sgdUpdateSlice } from './sharded-sgd'

/** Imports a module by specifier (the bootstrap supplies one that goes through vite-node in workspace runs). */
export type ModuleImporter = (specifier: string, from: string | undefined) => Promise<Record<string, unknown>>

interface Views {
  ctrl: Int32Array
  params: Float32Array
  momentum: Float32Array
  grads: Float32Array
  buffers: Float32Array
  norms: Float64Array
}

/** Entry point of a replica worker (exported for the bootstrap only). */
export async function runReplicaWorker(importModule: ModuleImporter): Promise<void> {
  const port = parentPort
  if (port === null) throw new Error('runReplicaWorker: must run inside a worker thread')
  const config = (workerData as { config: WorkerConfig }).config
  const { rank, replicas } = config
  const post = (message: FromWorker): void => port.postMessage(message)

  const backend = await initBackend(config.backend)
  const exportName = config.spec.export ?? 'createReplica'
  const mod = await importModule(config.spec.module, config.spec.from)
  const factory = mod[exportName]
  if (typeof factory !== 'function') {
    throw new Error(`replica module '${config.spec.module}' has no function export '${exportName}' (exports: ${Object.keys(mod).join(', ')})`)
  }
  const build = factory as (options: unknown, context: ReplicaContext) => unknown
  const replica: Replica = toReplica(await build(config.spec.options ?? {}, { rank, replicas }), `${config.spec.module}#${exportName}`)
  const params = replica.parameters()
  const buffers = config.broadcastBuffers ? (replica.buffers?.() ?? []) : []
  const manifest = buildManifest(params, buffers)
  const vars = params.map((p) => p.value)
  // On WebGPU the forward + backward is replayed from a recorded plan (one submit); elsewhere it runs eagerly.
  const compiled: CompiledGradients | undefined = config.compile && backend.device === 'webgpu' ? await compiledGradients(replica, vars, rank) : undefined
  post({ type: 'manifest', rank, manifest, backend })

  let views: Views | undefined
  const handle = async (message: ToWorker): Promise<void> => {
    if (message.type === 'init') {
      views = viewsOf(message.shared)
      // DistributedDataParallel broadcasts rank 0's parameters and buffers at construction: replicas start identical.
      if (rank === 0) {
        await writeTensors(params, manifest.parameters, views.params)
        await writeTensors(buffers, manifest.buffers, views.buffers)
      }
      barrier(views.ctrl, replicas)
      if (rank !== 0) {
        loadTensors(params, manifest.parameters, views.params)
        loadTensors(buffers, manifest.buffers, views.buffers)
      }
      post({ type: 'initialized', rank })
    } else if (message.type === 'step') {
      if (views === undefined) throw new Error('step before init')
      const { loss, gradNorm, timings, correct } = await step(message, views)
      const plan: ReplicaPlanInfo | undefined = compiled?.info()
      post({ type: 'stepped', rank, loss, gradNorm, numTensors: tf.memory().numTensors, timings, correct, ...(plan === undefined ? {} : { plan }) })
    } else {
      // 'load': the coordinator wrote parameters/buffers into shared memory (setParameters). The coordinator ends
      // workers with terminate(): their engine, backend and device go with the thread.
      if (views === undefined) throw new Error('load before init')
      loadTensors(params, manifest.parameters, views.params)
      loadTensors(buffers, manifest.buffers, views.buffers)
      post({ type: 'loaded', rank })
    }
  }

  /** Loss, gradients and (withOutput) logits, computed op by op. */
  const eagerGradients = async (x: tf.Tensor, y: tf.Tensor, withOutput: boolean): Promise<ReplicaGradients> => {
    let output: tf.Tensor | undefined
    const lossOf = (): tf.Scalar => {
      // The caller checked that the replica has lossWithOutput when top-k hits are asked for.
      const r = withOutput ? replica.lossWithOutput?.(x, y) : undefined
      if (r === undefined) return replica.loss(x, y)
      output = tf.keep(r.output)
      return r.loss
    }
    const { value, grads } = tf.variableGrads(lossOf, vars)
    try {
      // data(), not dataSync(): WebGPU reads back asynchronously.
      const result: ReplicaGradients = { loss: (await value.data())[0] as number, grads: [] }
      if (output !== undefined) result.output = (await output.data()) as Float32Array
      for (const v of vars) {
        const g = grads[v.name]
        result.grads.push(g === undefined ? undefined : ((await g.data()) as Float32Array))
      }
      return result
    } finally {
      tf.dispose([value, ...Object.values(grads), ...(output ? [output] : [])])
    }
  }

  const step = async (
    message: Extract<ToWorker, { type: 'step' }>,
    v: Views,
  ): Promise<{ loss: number; gradNorm: number; timings: StepTimings; correct: number[] }> => {
    const timings: StepTimings = { compute: 0, wait: 0, update: 0, load: 0 }
    let mark = performance.now()
    const lap = (phase: keyof StepTimings): void => {
      const now = performance.now()
      timings[phase] += now - mark
      mark = now
    }
    const P = manifest.parameterCount
    const slot = v.grads.subarray(rank * P, (rank + 1) * P)
    if (message.topk.length > 0 && replica.lossWithOutput === undefined) {
      throw new Error(`step({ topk }): the replica from '${config.spec.module}' has no lossWithOutput(x, y), so it cannot count top-k hits`)
    }
    let loss = 0
    let correct = message.topk.map(() => 0)
    if (sizeOf(message.x.shape) > 0) {
      const x = tensorOf(message.x)
      const y = tensorOf(message.y)
      try {
        const r = compiled ? await compiled.run(x, y, message.topk.length > 0) : await eagerGradients(x, y, message.topk.length > 0)
        loss = r.loss
        if (r.output !== undefined) correct = topkHits(r.output, await y.data(), r.output.length / sizeOf(message.y.shape), message.topk)
        // Weighting by shard size makes the sum over replicas the gradient of the full batch's mean loss.
        r.grads.forEach((g, i) => {
          const entry = manifest.parameters[i] as TensorEntry
          if (g === undefined) slot.fill(0, entry.offset, entry.offset + entry.size)
          else scaleInto(slot, entry.offset, g, message.weight)
        })
      } finally {
        tf.dispose([x, y])
      }
    } else {
      slot.fill(0)
    }
    if (rank === 0) await writeTensors(buffers, manifest.buffers, v.buffers)
    lap('compute')
    barrier(v.ctrl, replicas)
    lap('wait')

    // Reduce-scatter: this replica sums its 1/N slice over all replicas' slots into slot 0, then updates that slice.
    const start = Math.floor((rank * P) / replicas)
    const end = Math.floor(((rank + 1) * P) / replicas)
    const sum = v.grads.subarray(0, P)
    for (let r = 1; r < replicas; r++) {
      const other = v.grads.subarray(r * P, (r + 1) * P)
      for (let i = start; i < end; i++) sum[i] = (sum[i] as number) + (other[i] as number)
    }
    let gradScale = 1
    let gradNorm = Number.NaN
    if (message.clipGradNorm > 0) {
      let squares = 0
      for (let i = start; i < end; i++) squares += (sum[i] as number) * (sum[i] as number)
      v.norms[rank] = squares
      lap('update')
      barrier(v.ctrl, replicas)
      lap('wait')
      let total = 0
      for (let r = 0; r < replicas; r++) total += v.norms[r] as number
      gradNorm = Math.sqrt(total)
      // torch.nn.utils.clip_grad_norm_: coef = max_norm / (total + 1e-6), applied only when < 1.
      gradScale = Math.min(message.clipGradNorm / (gradNorm + 1e-6), 1)
    }
    sgdUpdateSlice({
      params: v.params,
      grads: sum,
      momentumBuffer: v.momentum,
      start,
      end,
      lr: message.lr,
      hyper: config.hyper,
      firstStep: Atomics.load(v.ctrl, CTRL_HAS_MOMENTUM) === 0,
      gradScale,
    })
    lap('update')
    barrier(v.ctrl, replicas)
    lap('wait')
    if (rank === 0 && config.hyper.momentum !== 0) Atomics.store(v.ctrl, CTRL_HAS_MOMENTUM, 1)
    loadTensors(params, manifest.parameters, v.params)
    if (rank !== 0) loadTensors(buffers, manifest.buffers, v.buffers)
    lap('load')
    return { loss, gradNorm, timings, correct }
  }

  // One message at a time, in order: a step must finish before the next (or a load) starts.
  let queue = Promise.resolve()
  port.on('message', (message: ToWorker) => {
    queue = queue
      .then(() => handle(message))
      .catch((error: unknown) => {
        post({ type: 'error', rank, message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
      })
  })
}

function buildManifest(params: ReplicaTensor[], buffers: ReplicaTensor[]): Manifest {
  const entries = (list: ReplicaTensor[], kind: 'parameter' | 'buffer'): { entries: TensorEntry[]; count: number } => {
    let offset = 0
    const out = list.map((t) => {
      const dtype = t.value.dtype
      if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`data-parallel: ${kind} '${t.name}' has dtype ${dtype}; only float32/int32 are shared`)
      if (kind === 'parameter' && dtype !== 'float32') throw new Error(`data-parallel: parameter '${t.name}' must be float32, is ${dtype}`)
      const e: TensorEntry = { name: t.name, shape: [...t.value.shape], dtype, kind, offset, size: t.value.size }
      offset += t.value.size
      return e
    })
    return { entries: out, count: offset }
  }
  const p = entries(params, 'parameter')
  const b = entries(buffers, 'buffer')
  return { parameters: p.entries, buffers: b.entries, parameterCount: p.count, bufferCount: b.count }
}

function viewsOf(s: SharedState): Views {
  return {
    ctrl: new Int32Array(s.ctrl),
    params: new Float32Array(s.params),
    momentum: new Float32Array(s.momentum),
    grads: new Float32Array(s.grads),
    buffers: new Float32Array(s.buffers),
    norms: new Float64Array(s.norms),
  }
}

async function writeTensors(tensors: ReplicaTensor[], entries: TensorEntry[], into: Float32Array): Promise<void> {
  for (const [i, t] of tensors.entries()) {
    const e = entries[i] as TensorEntry
    into.set((await t.value.data()) as Float32Array | Int32Array, e.offset)
  }
}

function loadTensors(tensors: ReplicaTensor[], entries: TensorEntry[], from: Float32Array): void {
  // wasm copies into its heap when a tensor is created; cpu and webgpu may keep the array, and the shared memory
  // changes next step: give those a private copy.
  const copy = tf.getBackend() !== 'wasm'
  tf.tidy(() => {
    tensors.forEach((t, i) => {
      const e = entries[i] as TensorEntry
      const flat = copy || e.dtype === 'int32' ? from.slice(e.offset, e.offset + e.size) : from.subarray(e.offset, e.offset + e.size)
      t.value.assign(tf.tensor(e.dtype === 'int32' ? Int32Array.from(flat) : flat, e.shape, e.dtype))
    })
  })
}

function scaleInto(into: Float32Array, offset: number, g: Float32Array, weight: number): void {
  if (weight === 1) {
    into.set(g, offset)
    return
  }
  for (let i = 0; i < g.length; i++) into[offset + i] = Math.fround((g[i] as number) * weight)
}

function tensorOf(shard: SharedShard): tf.Tensor {
  const size = sizeOf(shard.shape)
  const view = shard.dtype === 'int32' ? new Int32Array(shard.buffer, shard.offset * 4, size) : new Float32Array(shard.buffer, shard.offset * 4, size)
  // wasm copies the values into its heap as the tensor is made; other backends may keep a reference to the array,
  // and the shared buffer is rewritten by the next step.
  return tf.tensor(tf.getBackend() === 'wasm' ? view : view.slice(), shard.shape, shard.dtype)
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}
