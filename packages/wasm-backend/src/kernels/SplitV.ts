import { SplitV, backend_util, util } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, SplitVAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { original } from './_originals'
import { copySlice } from './Slice'

/** tf.split: each piece copied from the heap by Slice's run copy (the shipped kernel copied the whole input per piece). */
function splitV(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const x = args.inputs['x'] as TensorInfo
  if (x.dtype === 'string') return original(SplitV).kernelFunc(args) as TensorInfo[]
  const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs
  const $axis = util.parseAxisParam(axis, x.shape)[0] as number
  const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, $axis)
  const begin = new Array<number>(x.shape.length).fill(0)
  return sizes.map((s) => {
    const size = [...x.shape]
    size[$axis] = s
    const piece = copySlice(args.backend as KernelBackend, x, [...begin], size)
    begin[$axis] = (begin[$axis] as number) + s
    return piece
  })
}

export const splitVConfig: KernelConfig = { kernelName: SplitV, backendName: 'wasm', kernelFunc: splitV as KernelFunc }
