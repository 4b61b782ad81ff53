import * as tf from '@tensorflow/tfjs-core'

/** Per-kernel time of one step (tf.profile; wasm kernels are synchronous, so kernelMs is wall time). */
export async function profileStep(step: () => void | Promise<void>): Promise<void> {
  const info = await tf.profile(step)
  const byKernel = new Map<string, { ms: number; calls: number; elements: number }>()
  let total = 0
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0, elements: 0 }
    e.ms += ms
    e.calls++
    e.elements += k.outputShapes.reduce((sum, shape) => sum + (shape ?? []).reduce((a, b) => a * b, 1), 0)
    byKernel.set(k.name, e)
    total += ms
  }
  const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)
  console.error(`profile: ${total.toFixed(0)} ms in kernels`)
  for (const [name, e] of top) console.error(`  ${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.calls).padStart(4)} calls  ${((1e6 * e.ms) / Math.max(1, e.elements)).toFixed(2).padStart(7)} ns/output element`)
}
