/**
 * Probes for PyTorch once per vitest run instead of once per test file: importing torch and torchvision takes ~3.5 s of
 * CPU, and a score of files ask. This global setup (main process) provides the answer; torch-probe.setup.ts hands it
 * to @tinylab/test-utils/torch's hasTorch() in each test worker. No `vitest` import here: it fails outside a worker.
 */
import { hasTorch } from '@tinylab/test-utils/torch'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    tinylabHasTorch: boolean
  }
}

export default function provideTorchProbe(project: TestProject): void {
  project.provide('tinylabHasTorch', hasTorch())
}
