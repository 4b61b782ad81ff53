// Shared by the `pnpm resnet train` tests (train-command, train-resume, train-checkpoint-pth): runs the command as the
// root script does and reads what a run leaves in its log folder.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT, SHARED_DATA } from '@tinylab/test-utils/paths'
import { expect } from 'vitest'

export const SUBSET = path.join(SHARED_DATA, 'tiny-imagenet-200-subset')

export interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs `pnpm resnet …` as the root script does (vite-node on main.ts). `watch` is called every 200 ms with the child,
 * so a test can interrupt it at a chosen point.
 */
export function resnet(args: string[], watch?: (child: ChildProcess) => void): Promise<Result> {
  const viteNode = path.join(REPO_ROOT, 'node_modules/.bin/vite-node')
  return new Promise((resolve) => {
    const child = spawn(viteNode, ['--config', 'vite.config.ts', 'examples/resnet-tiny-imagenet/src/main.ts', '--', ...args], { cwd: REPO_ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = watch ? setInterval(() => watch(child), 200) : undefined
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/**
 * 2 epochs x 3 steps of batch 8 on the 10 full classes, each step as 2 micro-batches of 4 with accumulated gradients;
 * 3 validation batches per epoch.
 */
export const smoke = (logdir: string): string[] => [
  'train', SUBSET, '--num-classes-subset', '10', '-b', '8', '--max-steps', '3', '--epochs', '2', '--lr', '0.05',
  '--device', 'wasm', '-j', '0', '-p', '1', '--micro-batch', '4', '--checkpoint-epochs', '1', '--logdir', logdir,
  '--checkpoint-format', 'safetensors', // the default, pth, is tested in train-checkpoint-pth.slow.test.ts
]

export function runDirOf(logdir: string): string {
  const dirs = readdirSync(logdir).filter((d) => d.endsWith('_resnet18'))
  expect(dirs).toHaveLength(1)
  return path.join(logdir, dirs[0] as string)
}

export interface StepRow {
  epoch: number
  batch: number
  loss: number
}

export function readSteps(runDir: string): StepRow[] {
  const file = path.join(runDir, 'steps.jsonl')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as StepRow)
}
