import { util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { LOG_SOFTMAX, LOG_SOFTMAX_GRAD } from '@tinylab/kernel-names'
import { offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/**
 * Log-softmax over the last axis and its gradient, kernels tfjs does not have (its logSoftmax op composes ~8 kernels
 * each way; the word LM runs it over [700, 33278] logits every step). Contract (the names are the API:
 * @tinylab/train-loop looks them up with `tf.getKernel(name, tf.getBackend())` and uses tf.logSoftmax otherwise):
 * - `TinylabLogSoftmax`: inputs `{ logits }` (float32, rank >= 1); outputs `[y]`, y = logits - log Σ exp(logits).
 * - `TinylabLogSoftmaxGrad`: inputs `{ dy, y }` (y the forward's output); outputs `[dx]`, dx = dy - exp(y)·Σ dy.
 */

function rowsAndCols(kernel: string, tensors: Record<string, TensorInfo>): [number, number] {
  const [first, ...rest] = Object.entries(tensors) as [string, TensorInfo][]
  const [, x] = first as [string, TensorInfo]
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`)
  }
  for (const [name, t] of rest) {
    if (!util.arraysEqual(t.shape, x.shape)) throw new Error(`${kernel}: ${name} has shape [${t.shape}], expected [${x.shape}]`)
  }
  const cols = x.shape[x.shape.length - 1] ?? 0
  const size = util.sizeFromShape(x.shape)
  if (x.shape.length < 1 || size === 0) throw new Error(`${kernel}: expected a non-empty tensor, got shape [${x.shape}]`)
  return [size / cols, cols]
}

export const logSoftmax: NativeImpl = ({ inputs, backend, addon }) => {
  const { logits } = inputs as { logits: TensorInfo }
  const [rows, cols] = rowsAndCols(LOG_SOFTMAX, { logits })
  const y = backend.makeOutput(logits.shape, 'float32')
  addon.logSoftmax(backend.wasm.HEAPU8, Float64Array.from([logits, y].map((t) => offsetOf(backend, t))), Int32Array.from([rows, cols]))
  return y
}

export const logSoftmaxGrad: NativeImpl = ({ inputs, backend, addon }) => {
  const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo }
  const [rows, cols] = rowsAndCols(LOG_SOFTMAX_GRAD, { y, dy })
  const dx = backend.makeOutput(y.shape, 'float32')
  addon.logSoftmaxGrad(backend.wasm.HEAPU8, Float64Array.from([dy, y, dx].map((t) => offsetOf(backend, t))), Int32Array.from([rows, cols]))
  return dx
}
