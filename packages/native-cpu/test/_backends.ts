import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import * as wasm from '@tensorflow/tfjs-backend-wasm'
import '@tensorflow/tfjs-backend-cpu'
export async function startCpuAndWasm(): Promise<void> {
  wasm.setWasmPaths(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).pathname)
  await tf.setBackend('cpu')
  await tf.setBackend('wasm')
}
