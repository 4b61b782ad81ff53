import { Identity } from '@tensorflow/tfjs-core'
import type { DataId, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import { original } from './_originals'

/**
 * The shipped wasm Identity copies its input. The engine runs it for every tensor the gradient tape saves
 * (`saveTensorsForBackwardMode` clones them): in the word LM's step, five copies of the [700, 33,278] logits and
 * their log-softmax, ~10% of the step. tfjs tensors are immutable, so the clone can share the data under a reference
 * count, as the wasm Reshape and the cpu backend's Identity already do. Strings keep the shipped kernel.
 */
function identity(args: Parameters<KernelFunc>[0]): TensorInfo {
  const x = args.inputs['x'] as TensorInfo
  if (x.dtype === 'string') return original(Identity).kernelFunc(args) as TensorInfo
  ;(args.backend as unknown as { incRef(dataId: DataId): void }).incRef(x.dataId)
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }
}

export const identityConfig: KernelConfig = { kernelName: Identity, backendName: 'wasm', kernelFunc: identity as KernelFunc }
