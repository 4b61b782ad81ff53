/**
 * Every publishable @tinylab package installs from its `pnpm pack` tarball into a fresh project outside the workspace
 * with plain npm. First without @tensorflow/tfjs-backend-wasm (an optional peer): `import` and `require` of each
 * package work and the cpu device trains a step. Then with it: a tensor op with a gradient (the registrations and
 * TinyLab's wasm kernels) runs on wasm through initBackend. Also: publint, attw, LICENSE and no bundled tfjs-core
 * engine for every tarball (scripts/check-packages.mjs). Slow: builds, packs, npm install.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '@tinylab/test-utils/paths'

interface Manifest {
  name: string
  private?: boolean
  exports?: Record<string, unknown>
}

const packages = readdirSync(path.join(REPO_ROOT, 'packages'))
  .map((dir) => ({ dir: path.join(REPO_ROOT, 'packages', dir), manifest: JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest }))
  .filter((p) => p.manifest.private !== true)
  .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name))
const names = packages.map((p) => p.manifest.name)
// Packages with JavaScript to import (the platform package of native-cpu ships only the addon and its libraries).
const importable = packages.filter((p) => p.manifest.exports?.['.'] !== undefined).map((p) => p.manifest.name)

// Asynchronous on purpose: a worker blocked for minutes in execFileSync misses vitest's RPC heartbeats.
const run = async (cmd: string, args: string[], cwd: string): Promise<string> =>
  (
    await promisify(execFile)(cmd, args, {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, CI: 'true', npm_config_update_notifier: 'false' },
    })
  ).stdout

// The consumer's scripts: every package loads, and a gradient through a conv + max-pool runs on `device`.
const checkBody = (load: string, device: string): string => `
const names = ${JSON.stringify(importable)}
const loaded = {}
for (const name of names) loaded[name] = Object.keys(${load}).sort()
const tf = ${load.replace('name', "'@tensorflow/tfjs-core'")}
const info = await loaded_md.initBackend({ device: '${device}' })
const x = tf.tensor4d([-3, 1, -2, 4, 0.5, -1, 2, -4, 1], [1, 3, 3, 1])
const g = tf.grad((w) => tf.maxPool(tf.conv2d(x, w, 1, 'same'), 2, 1, 'valid').sum())(tf.ones([2, 2, 1, 1]))
console.log(JSON.stringify({ loaded, backend: tf.getBackend(), device: info.device, reason: info.reason, threads: info.threads, grad: Array.from(g.dataSync()) }))
process.exit(0)
`

describe('consumer project: packed tarballs installed with npm outside the workspace', () => {
  let project = ''
  let installLog = ''
  const tarballs: string[] = []

  beforeAll(async () => {
    // --no-sort: each tsup build bundles only its own sources (siblings stay external), so order does not matter, and
    // multi-device <-> native-cpu (optional dependency one way, devDependency the other) is a cycle for pnpm's sort.
    await run('pnpm', ['-r', '--no-sort', ...names.flatMap((n) => ['--filter', n]), 'build'], REPO_ROOT)
    project = mkdtempSync(path.join(os.tmpdir(), 'tinylab-consumer-'))
    const packDir = path.join(project, 'tarballs')
    for (const { dir } of packages) {
      const out = (await run('pnpm', ['pack', '--pack-destination', packDir], dir)).trim().split('\n')
      const tgz = out.reverse().find((l) => l.endsWith('.tgz'))
      if (tgz === undefined) throw new Error(`pnpm pack in ${dir} printed no tarball: ${out.join('\n')}`)
      tarballs.push(path.isAbsolute(tgz) ? tgz : path.join(packDir, path.basename(tgz)))
    }
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tinylab-consumer', private: true, version: '1.0.0' }))
    // --foreground-scripts: show the install scripts' output (native-cpu says which path it took).
    installLog = await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--foreground-scripts', ...tarballs, '@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-cpu@4.22.0'],
      project,
    )
  }, 600_000)

  afterAll(() => {
    if (project !== '') rmSync(project, { recursive: true, force: true })
  })

  it('publint, attw, a LICENSE and no bundled tfjs-core engine in every tarball (pnpm check:packages)', async () => {
    const out = await run(process.execPath, [path.join(REPO_ROOT, 'scripts/check-packages.mjs')], REPO_ROOT)
    expect(out.trim().split('\n').filter((l) => !l.startsWith('ok '))).toEqual([])
    expect(out.trim().split('\n')).toHaveLength(names.length)
  }, 600_000)

  it('resolves dependencies between @tinylab packages (workspace:^) to the packed tarballs, one copy each', () => {
    const lock = JSON.parse(readFileSync(path.join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> }
    const tinylab = Object.entries(lock.packages).filter(([where]) => where.includes('node_modules/@tinylab/'))
    expect(tinylab.map(([where]) => where).sort()).toEqual(names.map((n) => `node_modules/${n}`).sort())
    for (const [where, entry] of tinylab) expect(entry.resolved, where).toMatch(/^file:.*\.tgz$/)
  })

  interface CheckResult {
    loaded: Record<string, string[]>
    backend: string
    device: string
    reason: string
    grad: number[]
  }
  const check = async (kind: 'esm' | 'cjs', device: string): Promise<CheckResult> => {
    const file = path.join(project, `check-${device}.${kind === 'esm' ? 'mjs' : 'cjs'}`)
    const body =
      kind === 'esm'
        ? `const loaded_md = await import('@tinylab/multi-device')\n${checkBody('await import(name)', device)}`
        : `(async () => {\nconst loaded_md = require('@tinylab/multi-device')\n${checkBody('require(name)', device)}\n})()`
    writeFileSync(file, body)
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [file], { cwd: project, encoding: 'utf8' })
    // No tfjs "install tfjs-node" banner in a consumer's output either.
    expect(stdout + stderr).not.toMatch(/TensorFlow\.js in Node/)
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as CheckResult
  }
  // By hand: conv(x, ones 2x2, 'same') = [[2.5,-1.5,-3],[2.5,-3.5,0],[-2,-3,1]]; the 2x2/1 max-pool picks
  // y00 (a tie with y10: the first wins), y12 (max 0), y10, y22; dL/dw[a,b] = Σ x[i+a, j+b] over those (i, j).
  const expectedGrad = [1, 1.5, 7, -3.5]

  for (const kind of ['esm', 'cjs'] as const) {
    it(`without @tensorflow/tfjs-backend-wasm, ${kind === 'esm' ? 'import' : 'require'} of every package works and cpu trains`, async () => {
      const out = await check(kind, 'cpu')
      for (const name of importable) expect(out.loaded[name]?.length ?? 0, `${name} exports`).toBeGreaterThan(0)
      expect(out.loaded['@tinylab/multi-device']).toContain('initBackend')
      expect(out.backend).toBe('cpu')
      expect(out.grad).toEqual(expectedGrad)
    })
  }

  it("without @tensorflow/tfjs-backend-wasm, device 'wasm' says what to install", async () => {
    await expect(check('esm', 'wasm')).rejects.toThrow(/npm install @tensorflow\/tfjs-backend-wasm@\^4\.22\.0/)
  })

  for (const kind of ['esm', 'cjs'] as const) {
    it(`with @tensorflow/tfjs-backend-wasm installed, ${kind === 'esm' ? 'import' : 'require'} works and wasm trains`, async () => {
      if (!existsSync(path.join(project, 'node_modules/@tensorflow/tfjs-backend-wasm'))) {
        await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '@tensorflow/tfjs-backend-wasm@4.22.0'], project)
      }
      const out = await check(kind, 'wasm')
      expect(out.backend).toBe('wasm')
      expect(out.grad).toEqual(expectedGrad)
    })
  }

  const prebuiltDir = (): string => path.join(project, 'node_modules/@tinylab/native-cpu-linux-x64-gnu')

  it('npm install took the prebuilt native addon (one line says so) and compiled nothing', () => {
    expect(existsSync(prebuiltDir())).toBe(true)
    const lines = installLog.split('\n').filter((l) => l.startsWith('@tinylab/native-cpu: '))
    expect(lines).toEqual([`@tinylab/native-cpu: using the prebuilt addon ${path.join(prebuiltDir(), 'tinylab_native_cpu.node')} (oneDNN bundled, nothing to compile)`])
    expect(existsSync(path.join(project, 'node_modules/@tinylab/native-cpu/build'))).toBe(false)
  })

  it('ldd of the shipped addon resolves every library but the C and C++ runtimes inside its package', async () => {
    const out = await run('ldd', [path.join(prebuiltDir(), 'tinylab_native_cpu.node')], project)
    const libs = out
      .split('\n')
      .map((l) => /^\s*(\S+) => (\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ soname: m[1] as string, file: m[2] as string }))
    const runtimes = /^(libc|libm|libstdc\+\+|libgcc_s|libdl|librt|libpthread)\.so/
    const bundled = libs.filter((l) => !runtimes.test(l.soname))
    expect(bundled.map((l) => l.soname).sort()).toEqual(['libOpenCL.so.1', 'libdnnl.so.2', 'libgomp.so.1'])
    for (const l of bundled) expect(path.dirname(realpathSync(l.file)), l.soname).toBe(realpathSync(prebuiltDir()))
  })

  it("with @tensorflow/tfjs-backend-wasm, initBackend({ device: 'auto' }) picks wasm+native from the prebuilt addon", async () => {
    if (!existsSync(path.join(project, 'node_modules/@tensorflow/tfjs-backend-wasm'))) {
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '@tensorflow/tfjs-backend-wasm@4.22.0'], project)
    }
    const out = await check('esm', 'auto')
    expect(out.device).toBe('wasm+native')
    expect(out.reason).toMatch(/native CPU kernels: oneDNN 2\.\d+/)
    expect(out.grad).toEqual(expectedGrad)
  })
})
