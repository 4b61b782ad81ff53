// The "fresh machine without libdnnl-dev" path: the package still imports, says why native kernels are off and how
// to enable them, leaves the wasm backend untouched, and its install script exits 0 when compilation fails.
import * as tf from '@tensorflow/tfjs-core'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { resetAddonStateForTests } from '../src/_addon'
import { enableNativeKernels, loadNativeCpu } from '../src/index'
import { startCpuAndWasm } from './_backends'

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** The platform package's addon (packages/native-cpu-linux-x64-gnu, filled by `pnpm build:prebuilt`). */
const PREBUILT = path.resolve(packageRoot, '..', 'native-cpu-linux-x64-gnu', 'tinylab_native_cpu.node')

function withEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  resetAddonStateForTests()
}

describe('without the compiled addon', () => {
  beforeAll(async () => {
    await startCpuAndWasm()
  })
  afterEach(() => withEnv({ TINYLAB_NATIVE_CPU: undefined, TINYLAB_NATIVE_CPU_PATH: undefined }))

  it('loadNativeCpu reports the missing file and the apt-get fix', () => {
    withEnv({ TINYLAB_NATIVE_CPU_PATH: '/nonexistent/tinylab_native_cpu.node' })
    const status = loadNativeCpu()
    expect(status.available).toBe(false)
    if (status.available) return
    expect(status.reason).toContain('/nonexistent/tinylab_native_cpu.node is missing')
    expect(status.reason).toContain('apt-get install libdnnl-dev g++')
  })

  it('TINYLAB_NATIVE_CPU=0 turns it off with that reason', () => {
    withEnv({ TINYLAB_NATIVE_CPU: '0' })
    const status = loadNativeCpu()
    expect(status).toEqual({ available: false, reason: 'native CPU kernels disabled by TINYLAB_NATIVE_CPU=0' })
  })

  it('a file that is not a loadable addon gives the loader error, not a crash', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'native-cpu-bogus-'))
    try {
      const bogus = path.join(dir, 'tinylab_native_cpu.node')
      writeFileSync(bogus, 'not an ELF file')
      withEnv({ TINYLAB_NATIVE_CPU_PATH: bogus })
      const status = loadNativeCpu()
      expect(status.available).toBe(false)
      if (!status.available) expect(status.reason).toMatch(/failed to load: .+; to enable it: `apt-get install libdnnl-dev/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("enableNativeKernels (multi-device's hook) answers enabled:false and leaves wasm active", async () => {
    await tf.setBackend('wasm')
    withEnv({ TINYLAB_NATIVE_CPU_PATH: '/nonexistent/tinylab_native_cpu.node' })
    const status = await enableNativeKernels({ threads: 1 })
    expect(status.enabled).toBe(false)
    expect(status.reason).toContain('apt-get install libdnnl-dev')
    expect(tf.getBackend()).toBe('wasm')
    expect(Array.from(tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync())).toEqual([2, 2, 2, 2])
  })
})

describe('install script', () => {
  it('exits 0 and records the reason when the compiler is missing; --strict exits 1', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'native-cpu-build-'))
    try {
      for (const entry of ['binding.gyp', 'csrc', 'scripts', 'package.json']) {
        cpSync(path.join(packageRoot, entry), path.join(dir, entry), { recursive: true })
      }
      // No NODE_PATH: pnpm's bin shims set one that reaches the workspace's packages, the prebuilt one included.
      const env = { ...process.env, NODE_PATH: '', CXX: '/nonexistent/g++', CC: '/nonexistent/gcc' }
      const script = path.join(dir, 'scripts', 'build-native.mjs')
      const lenient = spawnSync(process.execPath, [script], { cwd: dir, env, encoding: 'utf8' })
      expect(lenient.status).toBe(0)
      expect(lenient.stdout).toMatch(/^@tinylab\/native-cpu: no prebuilt addon \(@tinylab\/native-cpu-linux-x64-gnu is not installed .*\); building from source$/m)
      expect(lenient.stderr).toContain('native kernels not built')
      expect(existsSync(path.join(dir, 'build', 'Release', 'tinylab_native_cpu.node'))).toBe(false)
      expect(readFileSync(path.join(dir, 'build', 'build-failure.txt'), 'utf8')).toMatch(/^no C\+\+ toolchain \(\/nonexistent\/(g\+\+|gcc) not found\): apt-get install g\+\+/)
      const strict = spawnSync(process.execPath, [script, '--strict'], { cwd: dir, env, encoding: 'utf8' })
      expect(strict.status).toBe(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.skipIf(!existsSync(PREBUILT))('with the platform package installed, uses its prebuilt addon and compiles nothing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'native-cpu-prebuilt-'))
    try {
      for (const entry of ['binding.gyp', 'csrc', 'scripts', 'package.json']) {
        cpSync(path.join(packageRoot, entry), path.join(dir, entry), { recursive: true })
      }
      mkdirSync(path.join(dir, 'node_modules', '@tinylab'), { recursive: true })
      symlinkSync(path.dirname(PREBUILT), path.join(dir, 'node_modules', '@tinylab', 'native-cpu-linux-x64-gnu'))
      // A compiler that does not exist: the prebuilt path must not need one.
      const env = { ...process.env, NODE_PATH: '', CXX: '/nonexistent/g++', CC: '/nonexistent/gcc' }
      const install = spawnSync(process.execPath, [path.join(dir, 'scripts', 'build-native.mjs')], { cwd: dir, env, encoding: 'utf8' })
      expect(install.status).toBe(0)
      expect(install.stdout.trim().split('\n')).toEqual([
        `@tinylab/native-cpu: using the prebuilt addon ${PREBUILT} (oneDNN bundled, nothing to compile)`, // through the link
      ])
      expect(existsSync(path.join(dir, 'build'))).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
