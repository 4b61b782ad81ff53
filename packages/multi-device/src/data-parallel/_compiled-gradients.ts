// A WebGPU replica's forward + backward as a compiled step (@tinylab/webgpu-backend's compileStep): traced on the
// first calls of each batch shape, then replayed with one submit per step, the loss, the gradients and the logits
// read back together. The update stays outside the step (the coordinator all-reduces on the CPU and every replica
// loads the new parameters with `assign`): a compiled step keeps each variable it reads in one fixed buffer and, at
// every replay, copies in the value of any variable assigned since (variable-slots.ts), so the replay reads this
// step's parameters, not the traced ones.
import * as tf from '@tensorflow/tfjs-core'
import { importWebGpuBackend } from '../init-backend'
import type { ReplicaPlanInfo } from './_protocol'
import type { Replica } from './replica-spec'

/** The part of @tinylab/webgpu-backend's compileStep used here, declared so this package never imports its types. */
interface CompiledStepLike {
  run(inputs: readonly tf.Tensor[]): Promise<(Float32Array | Int32Array)[]>
  stats(): { mode: ReplicaPlanInfo['mode']; dispatches: number; eagerCalls: number; replays: number }
  dispose(): void
}

interface WebGpuCompileModule {
  compileStep(
    fn: (inputs: readonly tf.Tensor[]) => tf.Tensor[],
    options: { name: string; onUnsupported: 'eager'; hostRandom: 'gpu-uniform'; seed: number },
  ): CompiledStepLike
}

export interface ReplicaGradients {
  loss: number
  /** Per parameter, in `parameters()` order; undefined where the loss does not depend on it. */
  grads: (Float32Array | undefined)[]
  /** The logits of `lossWithOutput`, when asked for. */
  output?: Float32Array
}

export interface CompiledGradients {
  run(x: tf.Tensor, y: tf.Tensor, withOutput: boolean): Promise<ReplicaGradients>
  /** The plan of the step that ran last. */
  info(): ReplicaPlanInfo
  dispose(): void
}

/** One compiled step per input shape and per "logits read back or not" (an epoch's last batch is usually smaller). */
export async function compiledGradients(replica: Replica, vars: readonly tf.Variable[], rank: number): Promise<CompiledGradients> {
  const { compileStep } = await importWebGpuBackend<WebGpuCompileModule>(`data-parallel replica ${rank}: the compiled WebGPU step`)
  const steps = new Map<string, { step: CompiledStepLike; present: number[] }>()
  let last: CompiledStepLike | undefined
  const stepFor = (x: tf.Tensor, y: tf.Tensor, withOutput: boolean): { step: CompiledStepLike; present: number[] } => {
    const key = `${x.shape.join('x')},${y.shape.join('x')}${withOutput ? ',logits' : ''}`
    let entry = steps.get(key)
    if (entry !== undefined) return entry
    // Which parameters get a gradient: found by every traced call, fixed for the replays.
    const present: number[] = []
    const step = compileStep(
      ([xs, ys]) => {
        let output: tf.Tensor | undefined
        const { value, grads } = tf.variableGrads(() => {
          if (!withOutput) return replica.loss(xs as tf.Tensor, ys as tf.Tensor)
          // The worker checks that the replica has lossWithOutput before asking for logits.
          const r = (replica.lossWithOutput as NonNullable<Replica['lossWithOutput']>)(xs as tf.Tensor, ys as tf.Tensor)
          output = tf.keep(r.output)
          return r.loss
        }, [...vars])
        present.length = 0
        const list: tf.Tensor[] = []
        vars.forEach((v, i) => {
          const g = grads[v.name]
          if (g === undefined) return
          present.push(i)
          list.push(g)
        })
        return [value, ...list, ...(output === undefined ? [] : [output])]
      },
      // Dropout noise (tf.dropout draws it on the CPU) is redrawn on the GPU at every replay, per replica.
      { name: `replica ${rank} ${key}`, onUnsupported: 'eager', hostRandom: 'gpu-uniform', seed: rank },
    )
    entry = { step, present }
    steps.set(key, entry)
    return entry
  }
  return {
    async run(x, y, withOutput) {
      const { step, present } = stepFor(x, y, withOutput)
      last = step
      const [loss, ...rest] = await step.run([x, y])
      const grads: (Float32Array | undefined)[] = vars.map(() => undefined)
      present.forEach((p, i) => {
        grads[p] = rest[i] as Float32Array
      })
      const result: ReplicaGradients = { loss: (loss as Float32Array)[0] as number, grads }
      if (withOutput) result.output = rest[present.length] as Float32Array
      return result
    },
    info() {
      const s = last?.stats()
      return s === undefined ? { mode: 'warming-up', dispatches: 0, eagerCalls: 0, replays: 0 } : { mode: s.mode, dispatches: s.dispatches, eagerCalls: s.eagerCalls, replays: s.replays }
    },
    dispose() {
      for (const { step } of steps.values()) step.dispose()
      steps.clear()
    },
  }
}
