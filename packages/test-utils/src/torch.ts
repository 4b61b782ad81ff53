import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { noteSkip } from './skip'

/** Debian's interpreter: another `python3` may come first on PATH without Debian's torch. */
export const DEBIAN_PYTHON = '/usr/bin/python3'

let torchAvailable: boolean | undefined

/**
 * True when Debian's python3-torch (and torchvision) can be imported. Under vitest the answer comes from one probe per
 * run (TINYLAB_HAS_TORCH, from scripts/vitest/torch-probe.*); the import can take a minute on a busy machine.
 */
export function hasTorch(): boolean {
  const probed = process.env['TINYLAB_HAS_TORCH']
  if (torchAvailable === undefined && (probed === '1' || probed === '0')) torchAvailable = probed === '1'
  if (torchAvailable === undefined) {
    try {
      execFileSync(DEBIAN_PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore', timeout: 300_000 })
      torchAvailable = true
    } catch {
      torchAvailable = false
    }
  }
  return torchAvailable
}

/**
 * Reference tests must not silently pass where PyTorch is missing: in CI (which installs it) a missing torch is a
 * failure; on a developer machine the caller skips with this reason (printed once per file).
 */
export function requireTorchOrSkipReason(): string | undefined {
  if (hasTorch()) return undefined
  if (process.env.CI) throw new Error('CI must have Debian python3-torch and python3-torchvision (see .ci/run)')
  return noteSkip(`PyTorch reference not installed: apt-get install python3-torch python3-torchvision (${DEBIAN_PYTHON})`)
}

/**
 * Runs a Python script with Debian's interpreter, torch limited to `threads` threads, and returns its stdout.
 * Exchange large tensors through files (safetensors or raw float32) the script writes; keep stdout for JSON.
 * `benchmark: true` drops OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which some machines set and which pin OpenBLAS to
 * slower kernels: a speed ratio must meet PyTorch at its own best (tests keep the environment as it is).
 */
export function runPython(script: string, args: string[] = [], options: { threads?: number; timeoutMs?: number; benchmark?: boolean } = {}): Promise<string> {
  if (!existsSync(DEBIAN_PYTHON)) return Promise.reject(new Error(`${DEBIAN_PYTHON} not found`))
  const threads = String(options.threads ?? 2)
  return new Promise((resolve, reject) => {
    execFile(
      DEBIAN_PYTHON,
      ['-c', script, ...args],
      {
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 256 * 1024 * 1024,
        env: pythonEnv(threads, options.benchmark ?? false),
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`))
        else resolve(stdout)
      },
    )
  })
}

function pythonEnv(threads: string, benchmark: boolean): NodeJS.ProcessEnv {
  const extra = { OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads, PYTHONHASHSEED: '0' }
  return benchmark ? torchBenchEnv(extra) : { ...process.env, ...extra }
}

/**
 * The environment for PyTorch's side of a benchmark: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines, pin
 * OpenBLAS to slower kernels than it picks by itself, which would flatter every ratio against PyTorch.
 */
export function torchBenchEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env['OPENBLAS_CORETYPE']
  delete env['OPENBLAS_L2_SIZE']
  return env
}
