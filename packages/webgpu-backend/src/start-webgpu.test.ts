import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, describe, expect, it } from 'vitest'
import { listDawnAdapterNames, listWebGpuAdapters, startWebGpu, stopWebGpu } from './start-webgpu'

afterAll(() => stopWebGpu())

/** Runs `body` with the Vulkan loader pointed at a driver list that does not exist (no ICD: what a bare machine has). */
async function withoutVulkanDriver<T>(body: () => Promise<T>): Promise<T> {
  const saved = { icd: process.env.VK_ICD_FILENAMES, driver: process.env.VK_DRIVER_FILES }
  process.env.VK_ICD_FILENAMES = '/nonexistent/tinylab-no-icd.json'
  process.env.VK_DRIVER_FILES = '/nonexistent/tinylab-no-icd.json'
  try {
    return await body()
  } finally {
    for (const [key, value] of [['VK_ICD_FILENAMES', saved.icd], ['VK_DRIVER_FILES', saved.driver]] as const) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

describe('startWebGpu without a Vulkan driver', () => {
  it('finds no adapter and says which packages give Dawn one', async () => {
    // The Vulkan loader reads these variables each time Dawn creates an instance, so one process can test both cases.
    expect(await withoutVulkanDriver(() => listWebGpuAdapters())).toEqual([])
    const error = await withoutVulkanDriver(() => startWebGpu()).then(() => undefined, (err: unknown) => err)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(/no WebGPU adapter/)
    expect((error as Error).message).toMatch(/apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1/)
    expect((error as Error).message).toMatch(/NVIDIA/)
  })
})

const adapters = await listWebGpuAdapters()
const reason = adapters.length === 0 ? 'no WebGPU adapter on this machine' : undefined
if (reason !== undefined && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

describe.skipIf(reason !== undefined)(`startWebGpu with an adapter${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it("names Dawn's adapters, and an unknown adapter= option fails with that list", async () => {
    const names = await listDawnAdapterNames()
    expect(names.length).toBeGreaterThan(0)
    expect(names.every((n) => n.backend.length > 0 && n.name.length > 0)).toBe(true)
    await expect(startWebGpu({ dawnOptions: ['backend=vulkan', 'adapter=tinylab-no-such-gpu'] })).rejects.toThrow(
      new RegExp(`Available adapters[\\s\\S]*${(names[0]?.name ?? '').replace(/[()[\]{}.*+?^$|\\]/g, '\\$&')}`),
    )
  })

  it('dataSync() on a GPU tensor says to use data() (Node has no OffscreenCanvas for the sync readback)', async () => {
    await startWebGpu()
    const onGpu = tf.tidy(() => tf.add(tf.range(0, 2000), 1)) // 2000 elements: computed on the GPU
    expect(() => onGpu.dataSync()).toThrow(/use `await tensor.data\(\)`/)
    expect((await onGpu.data())[1999]).toBe(2000)
    onGpu.dispose()
    stopWebGpu()
  })

  it('starts, computes, stops and starts again in one process', async () => {
    for (let round = 0; round < 2; round++) {
      const info = await startWebGpu()
      expect(info.backend).toBe('webgpu')
      expect(tf.getBackend()).toBe('webgpu')
      expect(info.adapter).toContain(adapters[0]?.description ?? '?')
      const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]))
      expect(Array.from(await product.data())).toEqual([19, 22, 43, 50])
      product.dispose()
      stopWebGpu()
      expect(tf.findBackend('webgpu')).toBeNull()
      expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined()
    }
  })
})
