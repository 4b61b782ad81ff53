import * as tf from '@tensorflow/tfjs-core'
import { webGpuBackend } from './backend-hooks'
import type { FusionCounts } from './fuse'
import type { DispatchTime, PlanMemory } from './plan'
import { ReplayPlan } from './plan'
import type { Trace } from './trace'
import { differenceBetween, traceStep } from './trace'

/** The step's returned tensors as CPU arrays (float32 → Float32Array; int32 and bool → Int32Array), in order. */
export type StepValues = (Float32Array | Int32Array)[]

export interface CompileStepOptions {
  /** Named in messages: `compileStep 'train'`. */
  name?: string
  /**
   * What to do when the step cannot be replayed (a readback inside the step, a varying host upload, a new variable):
   * 'throw' (default) an error naming it, or 'eager': print one line saying why and run every call eagerly.
   */
  onUnsupported?: 'throw' | 'eager'
  /**
   * Read at every call; when its value changes the step is traced again. For values the step reads from JavaScript
   * that a replay would otherwise repeat, e.g. `() => optimizer.lr` (a replay bakes scalars in as constants).
   */
  traceKey?: () => unknown
  /**
   * Trace two consecutive calls and replay only if they issued the same GPU work (default true): catches host-side
   * randomness (dropout masks drawn on the CPU) and values read from JavaScript that change every call.
   */
  verify?: boolean
  /**
   * Replace recurring dispatch patterns (ReLU and its gradient with the batch-norm or Add next to them, batch-norm
   * statistics with the running-statistics update) by fused dispatches (default true); false replays tfjs's dispatches
   * as recorded, to bisect a difference.
   */
  fuse?: boolean
  /**
   * Host-generated random values, such as tf.dropout's noise (tf.randomUniform draws it on the CPU every call):
   * 'refuse' (default) makes a step whose uploads change between calls an error; 'gpu-uniform' takes every upload that
   * changes between the two traced calls and holds float32 values in [0, 1) in both as a uniform [0, 1) draw and
   * redraws it on the GPU at every replay (a counter-based hash of `seed`, the replay count, the upload and the element).
   * The draws are not the CPU's: a compiled step with dropout masks different units than the eager one.
   */
  hostRandom?: 'refuse' | 'gpu-uniform'
  /** Seed of the GPU draws of hostRandom 'gpu-uniform' (default 0). */
  seed?: number
}

export interface CompiledStepStats {
  /** 'warming-up' (eager calls that trace), 'compiled' (replaying) or 'eager' (fell back). */
  mode: 'warming-up' | 'compiled' | 'eager'
  /** Dispatches per replayed step (0 before the plan exists). */
  dispatches: number
  /** Dispatches per replayed step by tfjs program class ('Fused:<pattern>' for the compiled step's own fusions). */
  programs: Record<string, number>
  /** How many times each pattern was fused in the plan (see fuse.ts). */
  fusions?: FusionCounts
  /** The plan's own GPU memory (the variables' buffers not included: they are the model's). */
  memory?: PlanMemory
  /** Calls run eagerly so far (warm-up and traces, or all of them after a fallback). */
  eagerCalls: number
  replays: number
}

export interface CompiledStep {
  /**
   * One call of the step on these inputs (same shapes and dtypes every call). The GPU work is submitted before this
   * returns; the promise resolves with the step's returned tensors once they are read back, so a caller may submit
   * the next step first and read this one's loss later.
   */
  run(inputs: readonly tf.Tensor[]): Promise<StepValues>
  /**
   * One call, once the step replays, with each dispatch timed on the GPU (timestamp queries, a compute pass per
   * dispatch): a real step (variables are updated), for benchmarks that want the time per kernel.
   */
  profile(inputs: readonly tf.Tensor[]): Promise<{ values: StepValues; dispatches: DispatchTime[] }>
  stats(): CompiledStepStats
  /** Frees the plan's GPU buffers once the reads in flight are done; the variables keep their values. */
  dispose(): void
}

/**
 * A step compiled for the WebGPU backend, the GPU counterpart of capturing a CUDA graph (tinygrad's TinyJit): call 0
 * runs `fn` eagerly (it may create optimizer state), calls 1 and 2 run it eagerly while every GPU dispatch, uniform
 * block and CPU upload tfjs-backend-webgpu performs is recorded; from call 3 on the recording is replayed with buffers
 * planned once by liveness, bind groups built once, one command encoder and one submit per step. Variables the step
 * assigns (parameters, optimizer state, batch-norm statistics) keep one buffer each, updated in place. `fn` must be
 * synchronous, return the tensors to read back, and depend only on `inputs`, variables and constants.
 *
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 })
 * const step = compileStep(([x, y]) => {
 *   const { value, grads } = tf.variableGrads(() => lossOf(x, y), vars)
 *   opt.step(grads)
 *   return [value]
 * }, { traceKey: () => opt.lr })
 * const [loss] = await step.run([images, labels])
 * ```
 */
export function compileStep(fn: (inputs: readonly tf.Tensor[]) => tf.Tensor[], options: CompileStepOptions = {}): CompiledStep {
  const who = options.name === undefined ? 'compileStep' : `compileStep '${options.name}'`
  const verify = options.verify ?? true
  let plan: ReplayPlan | undefined
  let firstTrace: Trace | undefined
  let warmCalls = 0
  let eagerCalls = 0
  let replays = 0
  let fallback = false
  let key: unknown
  let pending = 0
  const retired: ReplayPlan[] = []

  const disposeRetired = (): void => {
    if (pending > 0) return
    for (const p of retired.splice(0)) p.dispose()
  }

  const unsupported = (reason: string): void => {
    if (options.onUnsupported !== 'eager') throw new Error(`${who}: cannot compile the step: ${reason}`)
    console.warn(`${who}: running eagerly: ${reason}`)
    fallback = true
  }

  const read = async (results: tf.Tensor[]): Promise<StepValues> => {
    try {
      const values = await Promise.all(results.map((t) => t.data()))
      return values.map((v) => (v instanceof Float32Array || v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>)))
    } finally {
      tf.dispose(results)
    }
  }

  const eager = (inputs: readonly tf.Tensor[]): Promise<StepValues> => {
    eagerCalls++
    return read(tf.tidy(() => fn(inputs)))
  }

  const traced = (inputs: readonly tf.Tensor[]): Promise<StepValues> => {
    eagerCalls++
    const backend = webGpuBackend(who)
    const { results, trace } = traceStep(backend, fn, inputs)
    const values = read(results)
    const problem = trace.unsupported[0]
    if (problem !== undefined) {
      unsupported(problem)
      return values
    }
    if (verify && firstTrace === undefined) {
      firstTrace = trace
      return values
    }
    const random = options.hostRandom === 'gpu-uniform' ? trace.randomUploads : undefined
    const difference = firstTrace === undefined ? undefined : differenceBetween(firstTrace, trace, random)
    firstTrace = undefined
    if (difference !== undefined) {
      unsupported(difference)
      return values
    }
    plan = new ReplayPlan(backend, trace, inputs.map((t) => [...t.shape]), inputs.map((t) => t.dtype), { fuse: options.fuse ?? true, seed: options.seed ?? 0 })
    return values
  }

  const run = (inputs: readonly tf.Tensor[]): Promise<StepValues> => {
    if (options.traceKey !== undefined && !fallback) {
      const next = options.traceKey()
      if (warmCalls > 0 && !Object.is(next, key)) {
        if (plan !== undefined) retired.push(plan)
        plan = undefined
        firstTrace = undefined
        warmCalls = 1 // state exists already: trace again without another warm-up call
        disposeRetired()
      }
      key = next
    }
    if (fallback) return eager(inputs)
    if (plan !== undefined) {
      const values = plan.run(inputs)
      replays++
      pending++
      return values.finally(() => {
        pending--
        disposeRetired()
      })
    }
    if (tf.getBackend() !== 'webgpu') {
      unsupported(`the active backend is '${tf.getBackend()}', not 'webgpu'`)
      return eager(inputs)
    }
    return warmCalls++ === 0 ? eager(inputs) : traced(inputs)
  }

  return {
    run(inputs) {
      // Errors become rejections, as for any promise-returning call; the GPU work is still submitted synchronously.
      try {
        return run(inputs)
      } catch (err) {
        return Promise.reject(err)
      }
    },
    async profile(inputs) {
      if (plan === undefined) throw new Error(`${who}: profile() needs a compiled plan (mode ${fallback ? 'eager' : 'warming-up'}; run the step 3 times first)`)
      const result = await plan.profile(inputs)
      replays++
      return result
    },
    stats() {
      const stats: CompiledStepStats = {
        mode: fallback ? 'eager' : plan !== undefined ? 'compiled' : 'warming-up',
        dispatches: plan?.dispatchCount ?? 0,
        programs: Object.fromEntries(plan?.programCounts ?? []),
        eagerCalls,
        replays,
      }
      if (plan !== undefined) {
        stats.memory = plan.memory()
        stats.fusions = { ...plan.fusions }
      }
      return stats
    },
    dispose() {
      if (plan !== undefined) retired.push(plan)
      plan = undefined
      disposeRetired()
    },
  }
}
