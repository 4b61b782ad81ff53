import { Unpack } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo, UnpackAttrs } from '@tensorflow/tfjs-core'
import { original } from './_originals'
import { copySlice } from './Slice'

/** tf.unstack: each piece copied from the heap by Slice's run copy (the shipped kernel copied the whole input per piece). */
function unpack(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const value = args.inputs['value'] as TensorInfo
  if (value.dtype === 'string') return original(Unpack).kernelFunc(args) as TensorInfo[]
  const { axis } = args.attrs as unknown as UnpackAttrs
  const $axis = axis < 0 ? axis + value.shape.length : axis
  const outShape = value.shape.filter((_, i) => i !== $axis)
  const size = [...value.shape]
  size[$axis] = 1
  return Array.from({ length: value.shape[$axis] as number }, (_, i) => {
    const begin = new Array<number>(value.shape.length).fill(0)
    begin[$axis] = i
    const { dataId, dtype } = copySlice(args.backend as KernelBackend, value, begin, size)
    return { dataId, dtype, shape: outShape }
  })
}

export const unpackConfig: KernelConfig = { kernelName: Unpack, backendName: 'wasm', kernelFunc: unpack as KernelFunc }
