import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import { startWasm } from '@tinylab/wasm-backend'

/** Registers the cpu backend (the reference) and leaves the wasm backend, with TinyLab's training kernels, active. */
export async function startCpuAndWasm(): Promise<void> {
  await tf.setBackend('cpu')
  await startWasm()
}
