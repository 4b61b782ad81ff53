/**
 * Probes for PyTorch once per vitest run instead of once per test file: importing torch and torchvision takes ~3.5 s of
 * CPU, and a score of files ask. vitest runs the default export as a global setup (main process) and the file as a
 * setup file (in each test worker, before the test file), which hands the answer to @tinylab/test-utils/torch's
 * hasTorch() through TINYLAB_HAS_TORCH.
 */
import { hasTorch } from '@tinylab/test-utils/torch'
import { inject } from 'vitest'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    tinylabHasTorch: boolean
  }
}

export default function provideTorchProbe(project: TestProject): void {
  project.provide('tinylabHasTorch', hasTorch())
}

// In a test worker (as a setup file): inject() is only defined there.
if (process.env['VITEST_WORKER_ID'] !== undefined) process.env['TINYLAB_HAS_TORCH'] = inject('tinylabHasTorch') ? '1' : '0'
