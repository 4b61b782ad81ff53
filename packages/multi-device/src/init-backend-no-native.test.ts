import { describe, expect, it } from 'vitest'
import { initBackend } from './init-backend'

// A machine without the native addon (no libdnnl-dev): simulated with the addon's own switch. Its own file, because
// the addon loader remembers its first answer for the life of the process.
process.env.TINYLAB_NATIVE_CPU = '0'

describe('initBackend without @tinylab/native-cpu', () => {
  it("'auto' reports wasm and why the native kernels were skipped", async () => {
    const info = await initBackend({ device: 'auto' })
    expect(info).toMatchObject({ backend: 'wasm', device: 'wasm' })
    expect(info.skipped?.[0]).toMatch(/^wasm\+native: .*TINYLAB_NATIVE_CPU=0/)
  })

  it("'wasm+native' fails with the reason instead of falling back", async () => {
    await expect(initBackend({ device: 'wasm+native' })).rejects.toThrow(/device 'wasm\+native' is not available: wasm\+native: .*TINYLAB_NATIVE_CPU=0/)
  })
})
