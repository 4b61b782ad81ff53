import { expect, it } from 'vitest'
import { wasmMicroBatch } from './wasm-micro-batch'

// ResNet-18 at 64x64 (torchsummary: 5.13 MB forward/backward per image) needs ~16.7 MiB of heap per image: 183 fit.
it('splits a ResNet-18 batch that does not fit the wasm heap into even micro-batches, and keeps one that fits', () => {
  expect(wasmMicroBatch(64, 5.13)).toEqual({ size: 64, reason: 'the batch fits the wasm heap' })
  expect(wasmMicroBatch(183, 5.13).size).toBe(183)
  expect(wasmMicroBatch(256, 5.13)).toEqual({ size: 128, reason: 'batch 256 needs ~4.2 GiB of wasm heap (~16.7 MiB/image), the heap is capped at 4 GiB' })
  expect(wasmMicroBatch(1000, 5.13).size).toBe(167) // 6 parts of at most 183
  expect(wasmMicroBatch(4, 10_000).size).toBe(1) // never below one image
})
