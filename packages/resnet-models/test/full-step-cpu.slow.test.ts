import { execFile } from 'node:child_process'
import path from 'node:path'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { describe, expect, it } from 'vitest'
import type { FullStepCheck } from './_full-step-check'

// The bar at its own size: one batch-32, 64×64, 200-class ResNet-18 training step on wasm, loss and every
// parameter gradient against the pure-JS cpu backend (≤ 1e-3), PyTorch float64 as the arbiter (_full-step-check.ts
// says why the two steps share their ReLU decisions). The cpu step is one synchronous block of ~4 minutes, so the
// check runs in a child process; ~5.5 minutes on an idle 2-core machine.
const reason = requireTorchOrSkipReason()

function runCheck(batch: number, device: string): Promise<FullStepCheck> {
  const viteNode = path.join(REPO_ROOT, 'node_modules/.bin/vite-node')
  const cli = 'packages/resnet-models/test/_full-step-check-cli.ts'
  return new Promise((resolve, reject) => {
    execFile(viteNode, ['--config', 'vite.config.ts', cli, '--', String(batch), device], { cwd: REPO_ROOT, timeout: 1_500_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'))
      if (error || line === undefined) reject(new Error(`full-step check failed (${error?.message ?? 'no JSON'}):\n${stderr.slice(-3000)}`))
      else resolve(JSON.parse(line) as FullStepCheck)
    })
  })
}

describe.skipIf(!!reason)('ResNet-18 batch-32 training step: wasm vs the cpu backend', () => {
  it(
    'loss and all 62 gradients within 1e-3; every differing ReLU decision is an fp32 tie',
    async () => {
      const r = await runCheck(32, 'wasm')
      expect(r.backend).toBe('wasm')
      expect(r.parameters).toBe(62)
      expect(r.lossRelError).toBeLessThanOrEqual(1e-3)
      expect(r.worstGradientVsCpu.err, r.worstGradientVsCpu.name).toBeLessThanOrEqual(1e-3)
      // 17 ReLUs in ResNet-18 (stem, two per basic block); each backward Step answered from the shared mask.
      expect(r.reluCalls).toBe(17)
      expect(r.reluGradientsReplayed).toBe(17)
      expect(r.largestFlipRelativeMagnitude).toBeLessThanOrEqual(1e-5)
      expect(r.pass).toBe(true)
    },
    1_600_000,
  )
})
