import { listWebGpuAdapters } from '@tinylab/webgpu-backend'

/** Why WebGPU cannot run here, or undefined. In CI (which installs lavapipe) a missing adapter is a failure. */
export async function webGpuSkipReason(): Promise<string | undefined> {
  let reason: string | undefined
  try {
    if ((await listWebGpuAdapters()).length === 0) reason = 'no WebGPU adapter (install a Vulkan driver: see README)'
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err)
  }
  if (reason !== undefined && process.env.CI === 'true') throw new Error(`CI must run the WebGPU data-parallel tests: ${reason}`)
  return reason
}
