import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { describe, expect, it } from 'vitest'

/** Runs `pnpm resnet …` the way the root script does (vite-node on main.ts), returning status and both streams. */
function resnet(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const viteNode = path.join(REPO_ROOT, 'node_modules/.bin/vite-node')
  const main = 'examples/resnet-tiny-imagenet/src/main.ts'
  return new Promise((resolve) => {
    execFile(viteNode, ['--config', 'vite.config.ts', main, '--', ...args], { cwd: REPO_ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

describe('pnpm resnet summary', () => {
  it('prints the report\'s torchsummary table for resnet18 / 200 classes / 64 px, and nothing else on stdout', async () => {
    const expected = readFileSync(path.join(REPO_ROOT, 'packages/resnet-models/test/fixtures/resnet18-200-64.summary.txt'), 'utf8')
    const { code, stdout, stderr } = await resnet(['summary', '--arch', 'resnet18', '--num-classes', '200', '--image-size', '64', '--backend', 'cpu'])
    expect(code).toBe(0)
    expect(stdout.split('\n')).toEqual(expected.split('\n'))
    // tfjs-backend-cpu's "looks like you are running TensorFlow.js in Node.js" banner (first tensor write) is not printed.
    expect(stderr).not.toMatch(/TensorFlow\.js in Node|tfjs-node/)
  })

  it('names the flag, the bad value and the choices, and exits 2', async () => {
    const { code, stdout, stderr } = await resnet(['summary', '-a', 'resnet101'])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toContain("resnet: error: argument -a/--arch: invalid choice: 'resnet101' (choose from 'resnet18', 'resnet34', 'resnet50')")
  })
})
