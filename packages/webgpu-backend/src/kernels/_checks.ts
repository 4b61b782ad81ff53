import { util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'

/** Throws unless every tensor is float32. */
export function checkFloat32(kernel: string, tensors: Record<string, TensorInfo>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`)
  }
}

/** Throws unless every tensor has `shape`. */
export function checkShape(kernel: string, shape: readonly number[], tensors: Record<string, TensorInfo>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (!util.arraysEqual(t.shape, shape as number[])) throw new Error(`${kernel}: ${name} has shape [${t.shape}], expected [${shape}]`)
  }
}

/** [rows, last axis] of a non-empty tensor of rank >= `minRank`. */
export function rowsAndLast(kernel: string, name: string, t: TensorInfo, minRank: number): [number, number] {
  const last = t.shape[t.shape.length - 1] ?? 0
  const size = util.sizeFromShape(t.shape)
  if (t.shape.length < minRank || size === 0) throw new Error(`${kernel}: ${name} must be a non-empty tensor of rank >= ${minRank}, got shape [${t.shape}]`)
  return [size / last, last]
}

/** A finite number attribute. */
export function numberAttr(kernel: string, attrs: Record<string, unknown>, name: string): number {
  const v = attrs[name]
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${kernel}: attr ${name} must be a finite number, got ${String(v)}`)
  return v
}

/**
 * Throws unless `targets` is int32 [rows] with rows >= 1; when its values are still on the host (a tensor made from
 * an array and not yet uploaded) also unless each lies in [0, classes). Values already on the GPU are not read back:
 * the NLL program turns an out-of-range target into a NaN loss instead.
 */
export function checkTargets(kernel: string, backend: WebGPUBackend, targets: TensorInfo, rows: number, classes: number): void {
  if (targets.dtype !== 'int32') throw new Error(`${kernel}: targets must be int32, got ${targets.dtype}`)
  if (targets.shape.length !== 1 || targets.shape[0] !== rows || rows < 1) {
    throw new Error(`${kernel}: targets must have shape [${rows}] (one per row), got [${targets.shape}]`)
  }
  const values = backend.tensorMap.get(targets.dataId)?.values
  if (values == null || !(values instanceof Int32Array)) return
  const bad = values.findIndex((v) => v < 0 || v >= classes)
  if (bad >= 0) throw new Error(`${kernel}: target ${values[bad]} at row ${bad} is outside [0, ${classes})`)
}
