/**
 * Runs cpu's ReLU backward with another backend's ReLU signs. Where a ReLU input lies within float32 rounding of 0,
 * two correct backends can disagree on its sign, and the gradient of that element is then on in one and off in the
 * other: a real difference of the two computations, not an error of either. Parity checks of a training step give the
 * reference the signs of the backend under test, so that they measure everything else.
 */
import * as tf from '@tensorflow/tfjs-core'
import { getGradient, getKernel, registerGradient, Relu, unregisterGradient, util } from '@tensorflow/tfjs-core'
import type { DataId, GradConfig, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core'
import { withCpuKernels } from './_cpu-reference'

/**
 * `fn` on the cpu backend with the backward of its i-th ReLU call masked by `outputs[i] > 0` (the outputs of the
 * same forward on another backend, in call order) instead of by cpu's own input. Throws if the calls do not match.
 */
export async function withReluSigns<T>(outputs: readonly Float32Array[], fn: () => Promise<T>): Promise<T> {
  const relu = (getKernel(Relu, 'cpu') as KernelConfig).kernelFunc
  const gradient = getGradient(Relu) as GradConfig | undefined
  if (gradient === undefined) throw new Error('withReluSigns: no Relu gradient registered (import register_all_gradients)')
  const callOf = new Map<DataId, number>()
  const countingRelu: KernelFunc = (args) => {
    const x = (args.inputs as { x: TensorInfo }).x
    const call = callOf.size
    const signs = outputs[call]
    if (signs === undefined || signs.length !== util.sizeFromShape(x.shape)) throw new Error(`withReluSigns: ReLU call ${call} of shape [${x.shape}] has no recorded output of that size`)
    callOf.set(x.dataId, call)
    return relu(args)
  }
  unregisterGradient(Relu)
  registerGradient({
    kernelName: Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const x = saved[0] as tf.Tensor
      const call = callOf.get(x.dataId)
      if (call === undefined) throw new Error('withReluSigns: a ReLU backward whose forward was not seen')
      const signs = (outputs[call] as Float32Array).map((v) => (v > 0 ? 1 : 0))
      return { x: () => tf.mul(dy as tf.Tensor, tf.tensor(signs, x.shape)) }
    },
  })
  try {
    return await withCpuKernels(new Map([[Relu, countingRelu]]), async () => {
      const result = await fn()
      if (callOf.size !== outputs.length) throw new Error(`withReluSigns: ${callOf.size} ReLU calls, ${outputs.length} recorded outputs`)
      return result
    })
  } finally {
    unregisterGradient(Relu)
    registerGradient(gradient)
  }
}
