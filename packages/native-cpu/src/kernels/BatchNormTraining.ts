import { util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '@tinylab/kernel-names'
import { offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/**
 * Fused train-mode batch norm, a kernel tfjs does not have. Contract (the names are the API: @tinylab/resnet-models
 * looks them up with `tf.getKernel(name, tf.getBackend())` and composes tfjs ops when a backend lacks them):
 * - `TinylabBatchNormTraining`: inputs `{ x, gamma, beta }` (x float32 [..., C], gamma/beta [C]), attrs `{ epsilon }`;
 *   outputs `[y, mean, variance, rstd]`, variance biased, rstd = 1/√(variance + epsilon).
 * - `TinylabBatchNormTrainingGrad`: inputs `{ dy, x, mean, rstd, gamma }`; outputs `[dx, dgamma, dbeta]`.
 */

/** [rows, channels] of x, after checking every tensor against it (there is no wasm kernel to fall back to). */
function rowsAndChannels(kernel: string, x: TensorInfo, perChannel: Record<string, TensorInfo>, same: Record<string, TensorInfo> = {}): [number, number] {
  const channels = x.shape[x.shape.length - 1] ?? 0
  const size = util.sizeFromShape(x.shape)
  if (x.shape.length < 2 || size === 0) throw new Error(`${kernel}: x must be a non-empty tensor of rank >= 2, got shape [${x.shape}]`)
  for (const [name, t] of Object.entries({ x, ...perChannel, ...same })) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`)
  }
  for (const [name, t] of Object.entries(perChannel)) {
    if (t.shape.length !== 1 || t.shape[0] !== channels) throw new Error(`${kernel}: ${name} must have shape [${channels}], got [${t.shape}]`)
  }
  for (const [name, t] of Object.entries(same)) {
    if (!util.arraysEqual(t.shape, x.shape)) throw new Error(`${kernel}: ${name} must have x's shape [${x.shape}], got [${t.shape}]`)
  }
  return [size / channels, channels]
}

export const batchNormTraining: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }
  const [rows, channels] = rowsAndChannels(BATCH_NORM_TRAINING, x, { gamma, beta })
  const epsilon = attrs['epsilon']
  if (typeof epsilon !== 'number' || !(epsilon > 0)) throw new Error(`${BATCH_NORM_TRAINING}: attr epsilon must be a positive number, got ${String(epsilon)}`)
  const y = backend.makeOutput(x.shape, 'float32')
  const [mean, variance, rstd] = [0, 1, 2].map(() => backend.makeOutput([channels], 'float32')) as [TensorInfo, TensorInfo, TensorInfo]
  const offsets = Float64Array.from([x, gamma, beta, y, mean, variance, rstd].map((t) => offsetOf(backend, t)))
  addon.batchNormTraining(backend.wasm.HEAPU8, offsets, Int32Array.from([rows, channels]), epsilon)
  return [y, mean, variance, rstd]
}

export const batchNormTrainingGrad: NativeImpl = ({ inputs, backend, addon }) => {
  const { dy, x, mean, rstd, gamma } = inputs as Record<'dy' | 'x' | 'mean' | 'rstd' | 'gamma', TensorInfo>
  const [rows, channels] = rowsAndChannels(BATCH_NORM_TRAINING_GRAD, x, { mean, rstd, gamma }, { dy })
  const dx = backend.makeOutput(x.shape, 'float32')
  const dgamma = backend.makeOutput([channels], 'float32')
  const dbeta = backend.makeOutput([channels], 'float32')
  const offsets = Float64Array.from([dy, x, mean, rstd, gamma, dx, dgamma, dbeta].map((t) => offsetOf(backend, t)))
  addon.batchNormTrainingGrad(backend.wasm.HEAPU8, offsets, Int32Array.from([rows, channels]))
  return [dx, dgamma, dbeta]
}
