// Block copies inside the wasm heap. tfjs-backend-wasm keeps every tensor at `memoryOffset` in one heap; copying
// contiguous runs there with copyWithin is a memmove (no JS-heap round trip, no per-element JS). Used where a layout
// change keeps long innermost runs, which the shipped kernels would do element by element.
import type { DataId, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core'

interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array }
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined }
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo
}

/** A new float32 tensor whose contents are undefined until written. */
export function allocate(backend: KernelBackend, shape: number[]): TensorInfo {
  return (backend as unknown as WasmHeapBackend).makeOutput(shape, 'float32')
}

/** A new float32 tensor holding `values` (small constants: one-hot and selection filters). */
export function constant(backend: KernelBackend, shape: number[], values: Float32Array): TensorInfo {
  return (backend as unknown as WasmHeapBackend).makeOutput(shape, 'float32', undefined, values)
}

/**
 * The whole heap as float32, plus each tensor's first element index in it. Read after the last allocation: growing
 * the heap replaces its buffer.
 */
export function heapView(backend: KernelBackend, ...tensors: TensorInfo[]): { heap: Float32Array; starts: number[] } {
  const b = backend as unknown as WasmHeapBackend
  const starts = tensors.map((t) => {
    const data = b.dataIdMap.get(t.dataId)
    if (data === undefined || t.dtype !== 'float32') throw new Error('wasm-backend kernels: expected a float32 tensor in the wasm heap')
    return data.memoryOffset / 4
  })
  return { heap: new Float32Array(b.wasm.HEAPU8.buffer), starts }
}

/** A fresh copy of x's data under a new shape (a new data id: XNNPACK operators the shipped kernels cache per id never see stale shapes). */
export function copyAs(backend: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo {
  const out = allocate(backend, shape)
  const { heap, starts } = heapView(backend, out, x)
  const [to, from] = starts as [number, number]
  const size = shape.reduce((a, b) => a * b, 1)
  heap.copyWithin(to, from, from + size)
  return out
}
