import { util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { nativeFloat32, offsetOf } from './_native-kernel'
import type { NativeImpl } from './_native-kernel'

/** Below this many elements the N-API call and oneDNN's threading cost more than wasm's scalar loop saves. */
const MIN_ELEMENTS = 16_384

/**
 * Exp through oneDNN's vectorised eltwise. The word LM's log-softmax (forward) and its gradient each exponentiate
 * the [bptt·batch, 33,278] logits: two 23M-element Exps that took half of a wasm training step.
 */
export const exp: NativeImpl = ({ inputs, backend, addon }) => {
  const { x } = inputs as { x: TensorInfo }
  const n = util.sizeFromShape(x.shape)
  if (!nativeFloat32(x) || n < MIN_ELEMENTS) return null
  const out = backend.makeOutput(x.shape, 'float32')
  addon.exp(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, out), Int32Array.from([n]))
  return out
}
