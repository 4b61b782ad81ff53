/**
 * ReLU decisions shared between two backends, for comparing whole training steps.
 *
 * A ReLU input within float32 rounding of zero can be positive on one backend and negative on the other: both are
 * right to fp32 precision, yet that one unit is on in one step and off in the other, and every gradient upstream of
 * it moves by that unit's whole contribution (in ResNet-18's layer4, 2×2 maps, one unit moves a conv's weight
 * gradient by ~10% of its largest entry). Comparing kernels then needs both sides to take the same decisions:
 * `recordReluDecisions` wraps a backend's Relu kernel and keeps every call's `x > 0` mask, in call order;
 * `replayReluDecisions` makes another backend's Relu (and the Step that ReLU's gradient calls on the same input) use
 * those masks, and reports each unit whose own decision differed with |x| relative to that call's largest |x|, so a
 * caller can check that every flip was a tie below fp32 resolution and not a wrong value.
 */
import * as tf from '@tensorflow/tfjs-core'
import type { DataId, KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'

interface CpuLikeBackend {
  readSync(dataId: DataId): ArrayLike<number>
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo
}

export interface ReluFlip {
  call: number
  index: number
  /** |x| at the flipped unit over the largest |x| of that call. */
  relativeMagnitude: number
}

export interface ReplayReport {
  reluCalls: number
  /** Step calls (ReLU gradients) answered from a replayed mask. */
  stepCallsReplayed: number
  flips: ReluFlip[]
  restore(): void
}

function wrap(kernelName: string, backendName: string, make: (original: KernelFunc) => KernelFunc): () => void {
  const original = tf.getKernel(kernelName, backendName)
  if (original === undefined) throw new Error(`relu-decisions: backend '${backendName}' has no ${kernelName} kernel`)
  tf.unregisterKernel(kernelName, backendName)
  tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) } as KernelConfig)
  return () => {
    tf.unregisterKernel(kernelName, backendName)
    tf.registerKernel(original)
  }
}

function read(backend: KernelBackend, t: TensorInfo): ArrayLike<number> {
  return (backend as unknown as CpuLikeBackend).readSync(t.dataId)
}

export interface ReluRecorder {
  /** Restores the Relu kernel and returns every call's `x > 0` mask, in call order. */
  stop(): Uint8Array[]
}

/** Records the mask of every Relu call on `backendName` until `stop()`. */
export function recordReluDecisions(backendName: string): ReluRecorder {
  const masks: Uint8Array[] = []
  const restore = wrap('Relu', backendName, (original) => (args) => {
    const x = args.inputs['x'] as TensorInfo
    const values = read(args.backend as KernelBackend, x)
    masks.push(Uint8Array.from(values, (v) => (v > 0 ? 1 : 0)))
    return original(args)
  })
  return {
    stop: () => {
      restore()
      return masks
    },
  }
}

/** Makes Relu on `backendName` follow `masks` (call k uses masks[k]) until `restore()`; see the module comment. */
export function replayReluDecisions(backendName: string, masks: Uint8Array[]): ReplayReport {
  const byInput = new Map<DataId, Uint8Array>()
  const report: Omit<ReplayReport, 'restore'> = { reluCalls: 0, stepCallsReplayed: 0, flips: [] }
  const restoreRelu = wrap('Relu', backendName, () => (args) => {
    const backend = args.backend as KernelBackend
    const x = args.inputs['x'] as TensorInfo
    const call = report.reluCalls++
    const mask = masks[call]
    const values = read(backend, x)
    if (mask === undefined || mask.length !== values.length) {
      throw new Error(`relu-decisions: Relu call ${call} has ${values.length} values, the recorded step had ${mask === undefined ? 'no such call' : mask.length}`)
    }
    let largest = 0
    for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i] as number))
    const y = new Float32Array(values.length)
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number
      if ((v > 0 ? 1 : 0) !== mask[i]) report.flips.push({ call, index: i, relativeMagnitude: Math.abs(v) / largest })
      y[i] = mask[i] === 1 ? v : 0
    }
    byInput.set(x.dataId, mask)
    return (backend as unknown as CpuLikeBackend).makeTensorInfo([...x.shape], 'float32', y)
  })
  // ReLU's gradient is dy·step(x) on the saved input: answer that Step from the mask the forward used.
  const restoreStep = wrap('Step', backendName, (original) => (args) => {
    const x = args.inputs['x'] as TensorInfo
    const mask = byInput.get(x.dataId)
    if (mask === undefined || (args.attrs as { alpha?: number }).alpha !== 0) return original(args)
    report.stepCallsReplayed++
    return (args.backend as unknown as CpuLikeBackend).makeTensorInfo([...x.shape], 'float32', Float32Array.from(mask))
  })
  return Object.assign(report, {
    restore: () => {
      restoreRelu()
      restoreStep()
    },
  })
}
