import { Slice, slice_util, util } from '@tensorflow/tfjs-core'
import type { DataId, KernelBackend, KernelConfig, KernelFunc, SliceAttrs, TensorInfo } from '@tensorflow/tfjs-core'
import { original } from './_originals'

/**
 * The shipped wasm Slice first copies its WHOLE input out of the heap (`backend.readSync`), and SplitV and Unpack call
 * it once per piece: splitting an LSTM's [T·B, 4H] input projection into T steps copied it T times (128 steps of
 * [12,800, 800]: 16 s). This Slice copies only the selected runs, inside the heap (`copyWithin`, a memmove); SplitV and
 * Unpack call it. Strings keep the shipped kernels.
 */
function slice(args: Parameters<KernelFunc>[0]): TensorInfo {
  const x = args.inputs['x'] as TensorInfo
  if (x.dtype === 'string') return original(Slice).kernelFunc(args) as TensorInfo
  const { begin, size } = args.attrs as unknown as SliceAttrs
  const [begin_, size_] = slice_util.parseSliceParams(x, begin, size) as [number[], number[]]
  return copySlice(args.backend as KernelBackend, x, begin_, size_)
}

interface WasmBackend {
  wasm: { HEAPU8: Uint8Array }
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined }
  makeOutput(shape: number[], dtype: TensorInfo['dtype']): TensorInfo
}

/** x[begin : begin + size] as a new tensor, copied run by run inside the wasm heap. */
export function copySlice(backend: KernelBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const b = backend as unknown as WasmBackend
  const out = b.makeOutput(size, x.dtype)
  const count = util.sizeFromShape(size)
  if (count === 0) return out
  const bytes = util.bytesPerElement(x.dtype)
  // Read the offsets after makeOutput: an allocation may grow the heap and replace HEAPU8's buffer.
  const heap = b.wasm.HEAPU8
  const from = (b.dataIdMap.get(x.dataId) as { memoryOffset: number }).memoryOffset
  let to = (b.dataIdMap.get(out.dataId) as { memoryOffset: number }).memoryOffset
  // The innermost contiguous run: trailing axes taken whole, times the first axis (from the end) that is cut.
  const strides = util.computeStrides(x.shape)
  let inner = Math.max(0, x.shape.length - 1)
  while (inner > 0 && size[inner] === x.shape[inner]) inner--
  const run = size.slice(inner).reduce((a, d) => a * d, 1) * bytes
  const outer = size.slice(0, inner)
  const index = new Array<number>(inner).fill(0)
  for (let done = 0; done < count; done += run / bytes) {
    let offset = (begin[inner] ?? 0) * (strides[inner] ?? 1)
    for (let axis = 0; axis < inner; axis++) offset += ((begin[axis] as number) + (index[axis] as number)) * (strides[axis] as number)
    const start = from + offset * bytes
    heap.copyWithin(to, start, start + run)
    to += run
    // Next outer index (odometer over the axes before `inner`).
    for (let axis = inner - 1; axis >= 0; axis--) {
      index[axis] = (index[axis] as number) + 1
      if ((index[axis] as number) < (outer[axis] as number)) break
      index[axis] = 0
    }
  }
  return out
}

export const sliceConfig: KernelConfig = { kernelName: Slice, backendName: 'wasm', kernelFunc: slice as KernelFunc }
