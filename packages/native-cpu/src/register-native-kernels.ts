import * as tf from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig } from '@tensorflow/tfjs-core'
import { addonState } from './_addon'
import { asWasmBackend } from './_wasm-heap'
import { batchMatMul } from './kernels/BatchMatMul'
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, LOG_SOFTMAX, LOG_SOFTMAX_GRAD, SGD_MOMENTUM } from '@tinylab/kernel-names'
import { batchNormTraining, batchNormTrainingGrad } from './kernels/BatchNormTraining'
import { conv2d } from './kernels/Conv2D'
import { conv2DBackpropFilter } from './kernels/Conv2DBackpropFilter'
import { conv2DBackpropInput } from './kernels/Conv2DBackpropInput'
import { exp } from './kernels/Exp'
import { logSoftmax, logSoftmaxGrad } from './kernels/LogSoftmax'
import { maxPoolGrad } from './kernels/MaxPoolGrad'
import { sgdMomentum } from './kernels/SgdMomentum'
import { mean } from './kernels/Mean'
import { sum } from './kernels/Sum'
import { tile } from './kernels/Tile'
import { nativeKernelConfig } from './kernels/_native-kernel'
import type { NativeImpl } from './kernels/_native-kernel'

/** The tfjs backend name under which the wasm backend runs with native kernels. */
export const NATIVE_BACKEND_NAME = 'wasm+native'

// One list, alphabetical, like tfjs-backend-wasm's register_all_kernels.ts; our own fused kernels (no tfjs name) last.
const nativeKernels: ReadonlyArray<[string, NativeImpl]> = [
  [tf.BatchMatMul, batchMatMul],
  [tf.Conv2D, conv2d],
  [tf.Conv2DBackpropFilter, conv2DBackpropFilter],
  [tf.Conv2DBackpropInput, conv2DBackpropInput],
  [tf.Exp, exp],
  [tf.MaxPoolGrad, maxPoolGrad],
  [tf.Mean, mean],
  [tf.Sum, sum],
  [tf.Tile, tile],
  [BATCH_NORM_TRAINING, batchNormTraining],
  [BATCH_NORM_TRAINING_GRAD, batchNormTrainingGrad],
  [LOG_SOFTMAX, logSoftmax],
  [LOG_SOFTMAX_GRAD, logSoftmaxGrad],
  [SGD_MOMENTUM, sgdMomentum],
]

export interface NativeRegistration {
  /** 'wasm+native': pass it to `tf.setBackend`. */
  backendName: string
  /** Kernels computed by oneDNN (everything else runs the wasm kernel on the same heap). */
  nativeKernels: string[]
  /** wasm kernels copied over to the new backend name. */
  copiedWasmKernels: number
}

/**
 * Registers the backend 'wasm+native': the SAME BackendWasm instance (same heap, same tensors, so switching between
 * 'wasm' and 'wasm+native' moves no data) with every kernel registered for 'wasm' copied over and Conv2D, its two
 * gradients, BatchMatMul, Exp, MaxPoolGrad, Sum, Mean and Tile replaced by native kernels that read and write the wasm heap in place,
 * plus fused kernels tfjs does not have: train-mode batch norm (kernels/BatchNormTraining.ts), log-softmax and its
 * gradient (kernels/LogSoftmax.ts) and the SGD momentum update (kernels/SgdMomentum.ts). Call it after
 * every custom wasm kernel is registered (kernels registered for 'wasm' later are not seen; calling again copies
 * them). Throws with the reason from `loadNativeCpu()` when the addon is unavailable.
 *
 * ```ts
 * await tf.setBackend('wasm')
 * const { backendName } = registerNativeKernels(tf.backend())
 * await tf.setBackend(backendName) // 'wasm+native'
 * ```
 */
export function registerNativeKernels(wasmBackend: KernelBackend): NativeRegistration {
  const state = addonState()
  if (state.addon === null) throw new Error(state.reason)
  const addon = state.addon
  const backend = asWasmBackend(wasmBackend, 'registerNativeKernels')
  const existing = tf.findBackendFactory(NATIVE_BACKEND_NAME)
  if (existing === null) {
    // Priority 0: never picked by tfjs's own "best backend" search; multi-device chooses it explicitly.
    tf.registerBackend(NATIVE_BACKEND_NAME, () => backend, 0)
  } else if (existing() !== backend) {
    throw new Error(`registerNativeKernels: '${NATIVE_BACKEND_NAME}' is already registered over another wasm backend instance`)
  }
  const nativeNames = new Set(nativeKernels.map(([name]) => name))
  let copied = 0
  for (const config of tf.getKernelsForBackend('wasm')) {
    if (nativeNames.has(config.kernelName) || tf.getKernel(config.kernelName, NATIVE_BACKEND_NAME) !== undefined) continue
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME })
    copied++
  }
  for (const [kernelName, impl] of nativeKernels) {
    const fallback: KernelConfig | undefined = tf.getKernel(kernelName, 'wasm')
    if (tf.getKernel(kernelName, NATIVE_BACKEND_NAME) !== undefined) tf.unregisterKernel(kernelName, NATIVE_BACKEND_NAME)
    tf.registerKernel(nativeKernelConfig(kernelName, NATIVE_BACKEND_NAME, impl, addon, fallback))
  }
  return { backendName: NATIVE_BACKEND_NAME, nativeKernels: [...nativeNames], copiedWasmKernels: copied }
}
