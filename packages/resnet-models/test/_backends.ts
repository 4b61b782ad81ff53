/**
 * The backends parity suites run on. cpu and wasm always start; WebGPU needs an adapter (a GPU, or Mesa's lavapipe
 * on a CPU-only machine), so its entry carries the reason it is skipped when none is found. Reads in the suites use
 * `await tensor.data()`: `dataSync()` is refused on WebGPU in Node.
 */
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'

export type ParityDevice = 'cpu' | 'wasm' | 'wasm+native' | 'webgpu'

export interface BackendCase {
  device: ParityDevice
  /** Set when the suite must skip this backend, saying why. */
  skip?: string
  /** For suite titles: the device, plus the skip reason when there is one. */
  label: string
}

async function probe(device: ParityDevice, needsKernel?: string): Promise<BackendCase> {
  const skipped = (skip: string): BackendCase => ({ device, skip, label: `${device} (skipped: ${skip})` })
  try {
    const info = await initBackend({ device })
    if (needsKernel && !tf.getKernel(needsKernel, info.backend)) return skipped(`the ${device} backend has no ${needsKernel} kernel`)
    return { device, label: device }
  } catch (err) {
    return skipped(`${device} did not start: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/**
 * cpu, wasm, wasm+native (oneDNN kernels and the fused batch norm of @tinylab/native-cpu) and webgpu, each with a skip
 * reason if it cannot run here; `needsKernel` is e.g. a training kernel. CI builds the native addon, so there a
 * wasm+native that does not start is an error, not a skip.
 */
export async function parityBackends(needsKernel?: string): Promise<BackendCase[]> {
  const cases: BackendCase[] = []
  for (const device of ['cpu', 'wasm', 'wasm+native', 'webgpu'] as const) cases.push(await probe(device, needsKernel))
  const native = cases.find((c) => c.device === 'wasm+native')
  if (native?.skip !== undefined && process.env['CI'] === 'true') throw new Error(`CI builds the native addon, but: ${native.skip}`)
  return cases
}
