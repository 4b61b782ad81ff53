import * as tf from '@tensorflow/tfjs-core'
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it, vi } from 'vitest'
import { initBackend } from './init-backend'
import type { Device } from './init-backend'

describe('initBackend', () => {
  it("'wasm' with 2 threads runs the threaded SIMD build (tfjs alone gives Node 1 thread, no threads)", async () => {
    const info = await initBackend({ device: 'wasm', threads: 2 })
    expect(info).toMatchObject({ backend: 'wasm', device: 'wasm', threads: 2, simd: true })
    expect(getThreadsCount()).toBe(2)
    expect(tf.getBackend()).toBe('wasm')
    expect(info.reason).toMatch(/2 threads/)
    // The gradient kernels tfjs-backend-wasm 4.22 lacks are registered: this is Conv2DBackpropFilter.
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D
    const g = tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(x, w as tf.Tensor4D, 1, 'valid')))(tf.ones([3, 3, 1, 1]))
    expect(Array.from(g.dataSync())).toEqual(Array(9).fill(4)) // each tap sees 2x2 output positions of ones
  })

  it("'auto' starts wasm and says whether the native kernels were used, and why", async () => {
    const info = await initBackend({ device: 'auto' })
    // CI builds the addon (.ci/run: build:native --strict), so there 'auto' must pick it.
    if (process.env.CI) expect(info.device).toBe('wasm+native')
    if (info.device === 'wasm') {
      expect(info.backend).toBe('wasm')
      expect(info.skipped?.[0]).toMatch(/^wasm\+native: @tinylab\/native-cpu/)
    } else {
      expect(info.device).toBe('wasm+native')
      expect(info.backend).toBe(tf.getBackend())
      expect(info.backend).toBe('wasm+native')
    }
  })

  it("'tensorflow' without tfjs-node says how to install it and which CUDA/cuDNN tfjs-node-gpu needs", async () => {
    await expect(initBackend({ device: 'tensorflow' })).rejects.toThrow(/npm install @tensorflow\/tfjs-node-gpu@4\.22\.0.*CUDA Toolkit 11\.2.*cuDNN 8\.1\.0/s)
  })

  it('rejects unknown devices and impossible thread counts with the allowed values', async () => {
    await expect(initBackend({ device: 'gpu' as Device })).rejects.toThrow(/unknown device 'gpu'.*'auto', 'wasm', 'wasm\+native', 'cpu', 'webgpu', 'tensorflow'/)
    await expect(initBackend({ device: 'wasm', threads: 0 })).rejects.toThrow(/threads must be an integer from 1 to 8 .*got 0/)
  })

  it("switches to 'cpu' and back in one process, without tfjs's install-tfjs-node banner", async () => {
    const warnings: string[] = []
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')))
    expect((await initBackend({ device: 'cpu' })).backend).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]).toBe(3) // the first write is where tfjs prints it
    warn.mockRestore()
    expect(warnings.join('\n')).not.toMatch(/TensorFlow\.js in Node/)
    const again = await initBackend({ device: 'wasm' })
    expect(again.threads).toBe(2) // the running wasm backend keeps its pool
    expect(again.reason).toMatch(/already started/)
  })
})
