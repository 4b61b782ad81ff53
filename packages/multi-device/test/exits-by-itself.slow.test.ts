import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { describe, expect, it } from 'vitest'
import { listWebGpuAdapters } from '@tinylab/webgpu-backend'

/** Runs the fixture under vite-node (as `pnpm resnet` runs the examples) and times its exit after its last line. */
function runFixture(args: string[]): Promise<{ code: number | null; last: string; exitAfterLastLineMs: number; stderr: string }> {
  const viteNode = path.join(REPO_ROOT, 'node_modules/.bin/vite-node')
  const fixture = path.join(REPO_ROOT, 'packages/multi-device/test/_exit-fixture.ts')
  return new Promise((resolve, reject) => {
    const child = spawn(viteNode, ['--config', 'vite.config.ts', fixture, ...args], { cwd: REPO_ROOT })
    let stdout = ''
    let stderr = ''
    let lastAt = Number.NaN
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (stdout.includes('LAST ')) lastAt = Date.now()
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    // Hung for good: end it so the test reports the hang instead of timing out.
    const kill = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(kill)
      resolve({ code, last: stdout.split('\n').find((l) => l.startsWith('LAST ')) ?? '', exitAfterLastLineMs: Date.now() - lastAt, stderr })
    })
  })
}

const nativeBuilt = existsSync(path.join(REPO_ROOT, 'packages/native-cpu/build/Release/tinylab_native_cpu.node'))
const hasAdapter = (await listWebGpuAdapters()).length > 0

describe('a program using a TinyLab backend exits by itself (issue 19)', () => {
  const cases: [string, string[], boolean][] = [
    ['wasm', ['wasm'], true],
    ['wasm, released with stopWasm and started again', ['wasm', 'restart'], true],
    ['wasm+native', ['wasm+native'], nativeBuilt],
    ['webgpu (lavapipe)', ['webgpu'], hasAdapter],
  ]
  for (const [name, args, available] of cases) {
    it.skipIf(!available)(`${name}: trains one step, prints, and exits within 5 s without process.exit`, async () => {
      const r = await runFixture(args)
      expect(r.last, r.stderr).toMatch(new RegExp(`^LAST ${args[0]!.replace('+', '\\+')} `))
      expect(r.code, r.stderr).toBe(0)
      expect(r.exitAfterLastLineMs).toBeLessThan(5000)
      // The step ran: 1 - 0.1 * 3 (d/dw of sum(ones(3,4) @ w) is 3 everywhere), or sum(ones(3,3)) after a restart.
      expect(Number(r.last.split(' ')[3])).toBeCloseTo(args[1] === 'restart' ? 9 : 0.7, 5)
    }, 120_000)
  }
})
