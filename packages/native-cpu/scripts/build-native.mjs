#!/usr/bin/env node
// This package's `install` script, and `pnpm build:native` (`--strict`). Prints one line saying which path it took:
// 1. install only: the prebuilt addon of the platform package (@tinylab/native-cpu-linux-x64-gnu, an optional
//    dependency npm installs on Linux x64 glibc only, with oneDNN bundled) loads: use it, build nothing;
// 2. otherwise build the oneDNN addon with node-gyp against the local Node headers and the system oneDNN, never
//    downloading anything.
// An install must never fail, so on any problem it writes the reason to build/build-failure.txt (loadNativeCpu()
// reports it) and exits 0. `--strict` (CI, `pnpm build:native`) always builds from source and exits 1 on failure.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const strict = process.argv.includes('--strict')
const failurePath = path.join(root, 'build', 'build-failure.txt')
const addonPath = path.join(root, 'build', 'Release', 'tinylab_native_cpu.node')

function finish(reason) {
  if (reason === null) {
    console.log(`@tinylab/native-cpu: built from source against the system oneDNN: ${addonPath}`)
    process.exit(0)
  }
  mkdirSync(path.dirname(failurePath), { recursive: true })
  writeFileSync(failurePath, reason + '\n')
  console.warn(`@tinylab/native-cpu: native kernels not built (${reason}); tfjs wasm will be used instead.`)
  process.exit(strict ? 1 : 0)
}

function findNodeGyp() {
  const prefix = path.resolve(path.dirname(process.execPath), '..')
  const candidates = [
    process.env.npm_config_node_gyp,
    (() => {
      try {
        return createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js')
      } catch {
        return undefined
      }
    })(),
    path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    path.join(prefix, 'lib/node_modules/pnpm/dist/node_modules/node-gyp/bin/node-gyp.js'),
  ]
  return candidates.find((c) => c !== undefined && existsSync(c))
}

// node-gyp downloads headers unless --nodedir points at a directory with include/node; distro and nodejs.org builds
// of Node both ship them next to the binary.
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local']
  return candidates.find((dir) => dir && existsSync(path.join(dir, 'include', 'node', 'node_api.h')))
}

function explain(output) {
  const missingTool = /No such file or directory: '([^']*(?:g\+\+|gcc|c\+\+|cc|make))'|\b(g\+\+|c\+\+|gcc|make): (?:command )?not found/.exec(output)
  if (missingTool) return `no C++ toolchain (${missingTool[1] ?? missingTool[2]} not found): apt-get install g++ make python3`
  if (/dnnl\.hpp: No such file|cannot find -ldnnl/.test(output)) return 'oneDNN headers/library not found: apt-get install libdnnl-dev'
  if (/find Python|Could not find any Python/.test(output)) return 'node-gyp needs python3: apt-get install python3'
  const errorLine = output.split('\n').find((l) => /error/i.test(l))
  return `node-gyp failed: ${(errorLine ?? output.trim().split('\n').slice(-1)[0] ?? 'unknown error').trim()}`
}

// The common case on a fresh machine, reported before node-gyp prints a page of compiler errors.
function hasOneDnnHeaders() {
  const dirs = ['/usr/include', '/usr/local/include', ...`${process.env.CPATH ?? ''}:${process.env.CPLUS_INCLUDE_PATH ?? ''}`.split(':')]
  return dirs.some((dir) => dir && existsSync(path.join(dir, 'oneapi', 'dnnl', 'dnnl.hpp')))
}

const PREBUILT = '@tinylab/native-cpu-linux-x64-gnu'

/** The platform package's addon when it is installed and loads here (its libraries resolve), else why not. */
function prebuiltAddon() {
  let file
  try {
    file = createRequire(path.join(root, 'package.json')).resolve(`${PREBUILT}/tinylab_native_cpu.node`)
  } catch {
    return { reason: `${PREBUILT} is not installed (it exists for Linux x64 with glibc)` }
  }
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).info()`], { encoding: 'utf8' })
  if (probe.status !== 0) return { reason: `${file} does not load: ${(probe.stderr ?? '').trim().split('\n').find((l) => /Error/.test(l)) ?? 'unknown error'}` }
  return { file }
}

if (process.env.TINYLAB_NATIVE_CPU === '0') finish('skipped: TINYLAB_NATIVE_CPU=0')
rmSync(failurePath, { force: true })
if (!strict) {
  const prebuilt = prebuiltAddon()
  if (prebuilt.file !== undefined) {
    console.log(`@tinylab/native-cpu: using the prebuilt addon ${prebuilt.file} (oneDNN bundled, nothing to compile)`)
    process.exit(0)
  }
  console.log(`@tinylab/native-cpu: no prebuilt addon (${prebuilt.reason}); building from source`)
}
if (!hasOneDnnHeaders()) finish('oneDNN headers (oneapi/dnnl/dnnl.hpp) not found: apt-get install libdnnl-dev')
const nodeGyp = findNodeGyp()
if (!nodeGyp) finish('node-gyp not found (it ships with npm and pnpm)')
const nodeDir = findNodeDir()
if (!nodeDir) finish('Node headers (include/node/node_api.h) not found next to the node binary; set npm_config_nodedir')
const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--jobs=2'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, npm_config_nodedir: nodeDir },
})
const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`
if (result.status !== 0 || !existsSync(addonPath)) {
  rmSync(addonPath, { force: true })
  finish(explain(output))
}
finish(null)
