// The kernels tfjs-backend-wasm registered before register_all_kernels replaced some of them: replacements that
// delegate (OneHot, BatchMatMul) call these, and their setupFuncs (which bind the C++ functions) must still run.
import { getKernel } from '@tensorflow/tfjs-core'
import type { KernelConfig } from '@tensorflow/tfjs-core'

const saved = new Map<string, KernelConfig>()

/** Records the shipped wasm kernel for `name` (once; later calls keep the first, i.e. tfjs's own). */
export function saveOriginal(name: string): KernelConfig | undefined {
  const existing = saved.get(name)
  if (existing !== undefined) return existing
  const config = getKernel(name, 'wasm')
  if (config !== undefined) saved.set(name, config)
  return config
}

export function original(name: string): KernelConfig {
  const config = saved.get(name)
  if (config === undefined) throw new Error(`wasm-backend kernels: the shipped '${name}' kernel was not saved`)
  return config
}
