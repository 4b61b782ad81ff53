import { util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { SGD_MOMENTUM } from '@tinylab/kernel-names'
import { offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/**
 * One torch.optim.SGD step with a momentum buffer, a kernel tfjs does not have (the name is the API: @tinylab/train-loop
 * looks it up with `tf.getKernel(name, tf.getBackend())` and composes six tfjs kernels when a backend lacks it).
 * Inputs `{ param, grad, buffer }` (float32, one shape); attrs `{ lr, momentum, dampening, weightDecay, nesterov }`;
 * outputs `[param', buffer']`.
 */

export const sgdMomentum: NativeImpl = ({ inputs, attrs, backend, addon }) => {
  const { param, grad, buffer } = inputs as Record<'param' | 'grad' | 'buffer', TensorInfo>
  for (const [name, t] of Object.entries({ param, grad, buffer })) {
    if (t.dtype !== 'float32') throw new Error(`${SGD_MOMENTUM}: ${name} must be float32, got ${t.dtype}`)
    if (!util.arraysEqual(t.shape, param.shape)) throw new Error(`${SGD_MOMENTUM}: ${name} has shape [${t.shape}], param has [${param.shape}]`)
  }
  const options = ['lr', 'momentum', 'dampening', 'weightDecay'].map((name) => {
    const v = attrs[name]
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${SGD_MOMENTUM}: attr ${name} must be a finite number, got ${String(v)}`)
    return v
  })
  const n = util.sizeFromShape(param.shape)
  const paramOut = backend.makeOutput(param.shape, 'float32')
  const bufferOut = backend.makeOutput(param.shape, 'float32')
  if (n === 0) return [paramOut, bufferOut]
  const offsets = Float64Array.from([param, grad, buffer, paramOut, bufferOut].map((t) => offsetOf(backend, t)))
  addon.sgdMomentum(backend.wasm.HEAPU8, offsets, n, Float64Array.from([...options, attrs['nesterov'] === true ? 1 : 0]))
  return [paramOut, bufferOut]
}
