// The slice of tfjs-backend-wasm's BackendWasm that native kernels touch (structural: we do not import the wasm
// package). Tensors live in the wasm heap at `memoryOffset`; outputs come from `makeOutput`, which may grow the heap,
// so the heap view is read after every allocation.
import type { DataId, DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core'

export interface WasmBackendLike extends KernelBackend {
  wasm: { HEAPU8: Uint8Array }
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined }
  makeOutput(shape: number[], dtype: DataType): TensorInfo
}

export function isWasmBackend(backend: unknown): backend is WasmBackendLike {
  if (typeof backend !== 'object' || backend === null) return false
  const b = backend as Partial<WasmBackendLike>
  return typeof b.makeOutput === 'function' && typeof b.dataIdMap === 'object' && typeof b.wasm === 'object'
}

export function asWasmBackend(backend: unknown, what: string): WasmBackendLike {
  if (!isWasmBackend(backend)) throw new Error(`@tinylab/native-cpu ${what}: backend is not tfjs-backend-wasm's BackendWasm`)
  return backend
}

export function memoryOffset(backend: WasmBackendLike, tensor: TensorInfo): number {
  const data = backend.dataIdMap.get(tensor.dataId)
  if (data === undefined) throw new Error('@tinylab/native-cpu: tensor is not in the wasm heap')
  return data.memoryOffset
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}
