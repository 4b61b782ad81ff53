// Benchmarks measure each configuration in its own process: wasm's thread count is fixed once the backend starts,
// and a process's peak RSS is only meaningful for one configuration.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { torchBenchEnv } from '@tinylab/test-utils/torch'

const here = path.dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = path.resolve(here, '../..')

/** Runs `pnpm bench <name> <args>` in a child process and returns the last JSON line it printed. */
export function runBenchChild<T>(name: string, args: string[]): T {
  return runTsChild<T>(path.join(here, 'index.ts'), [name, ...args])
}

/** Runs a TypeScript file of this repository (path from the root) with vite-node; returns the last JSON line it printed. */
export function runTsChild<T>(file: string, args: string[]): T {
  const require = createRequire(import.meta.url)
  const viteNode = path.join(path.dirname(require.resolve('vite-node/package.json')), 'vite-node.mjs')
  const res = spawnSync(process.execPath, [viteNode, '--config', 'vite.config.ts', file, '--', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return lastJson<T>(res.stdout, `${path.basename(file)} ${args.join(' ')}`, res.status)
}

/** Runs Debian's python3 (the one with python3-torch) on a script given as a string. */
export function runPython<T>(script: string, args: string[]): T {
  const res = spawnSync('/usr/bin/python3', ['-c', script, ...args], {
    env: torchBenchEnv(),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return lastJson<T>(res.stdout, `python ${args.join(' ')}`, res.status)
}

function lastJson<T>(stdout: string, what: string, status: number | null): T {
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`bench child '${what}' printed no JSON (exit ${status}):\n${stdout.slice(-2000)}`)
  return JSON.parse(line) as T
}

/** `--name value` or `--name=value` from argv. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i < 0) return undefined
  const a = args[i] as string
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1]
}

export function hasFlag(args: string[], name: string): boolean {
  return args.includes(`--${name}`)
}

export const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10
