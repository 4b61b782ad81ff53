#!/usr/bin/env node
// `pnpm --filter @tinylab/native-cpu build:prebuilt`: builds the addon from source against the system oneDNN
// (apt-get install libdnnl-dev g++ make python3) and fills the platform package
// packages/native-cpu-linux-x64-gnu with it and every shared library it needs beyond the C/C++ runtimes (libdnnl,
// and what libdnnl pulls in: OpenMP, the OpenCL loader), plus their licences. The addon is linked with
// DT_RPATH=$ORIGIN (binding.gyp), which the loader also applies to libdnnl's own dependencies, so the copies next to
// it are the ones loaded. Finally `ldd` must resolve every non-runtime library inside the package, or this exits 1.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const target = path.resolve(root, '..', 'native-cpu-linux-x64-gnu')
const ADDON = 'tinylab_native_cpu.node'
// Every Linux x64 glibc system has these (the C and C++ runtimes); anything else ships in the package.
const RUNTIMES = /^(linux-vdso\.so|ld-linux-x86-64\.so|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|libstdc\+\+\.so|libgcc_s\.so)/

function fail(message) {
  console.error(`build-prebuilt: ${message}`)
  process.exit(1)
}

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`builds the linux-x64-gnu package only, this is ${process.platform}-${process.arch}`)

const build = spawnSync(process.execPath, [path.join(root, 'scripts/build-native.mjs'), '--strict'], { stdio: 'inherit' })
if (build.status !== 0) fail('the source build failed (see above)')

/** `ldd` as [soname, resolved path | undefined]. */
function ldd(file) {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' })
  return out
    .split('\n')
    .map((l) => /^\s*(\S+)(?: => (\S+|not found))?/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [m[1], m[2] === 'not found' ? undefined : m[2]])
}

// Start clean: the previous binaries go, the package's own files stay.
for (const f of readdirSync(target)) if (f === ADDON || /\.so(\.\d+)*$/.test(f)) rmSync(path.join(target, f))
copyFileSync(path.join(root, 'build/Release', ADDON), path.join(target, ADDON))

const bundled = []
for (const [soname, resolved] of ldd(path.join(target, ADDON))) {
  if (RUNTIMES.test(path.basename(soname))) continue
  if (resolved === undefined) fail(`${soname} is not found on this machine`)
  copyFileSync(realpathSync(resolved), path.join(target, soname))
  bundled.push({ soname, from: realpathSync(resolved) })
}

// Licences of what we copied, from the Debian packages that installed them.
const notices = ['# Third-party libraries in this package', '']
for (const { soname, from } of bundled) {
  const pkg = execFileSync('dpkg', ['-S', from], { encoding: 'utf8' }).split(':')[0]
  const copyright = `/usr/share/doc/${pkg}/copyright`
  notices.push(`## ${soname} (Debian package ${pkg}, ${path.basename(from)})`, '', '```', existsSync(copyright) ? readFileSync(copyright, 'utf8').trim() : 'no copyright file', '```', '')
}
writeFileSync(path.join(target, 'THIRD_PARTY_NOTICES.md'), notices.join('\n'))

const outside = ldd(path.join(target, ADDON)).filter(([soname, resolved]) => !RUNTIMES.test(path.basename(soname)) && (resolved === undefined || path.resolve(path.dirname(resolved)) !== target))
if (outside.length > 0) fail(`ldd resolves these outside ${target}: ${outside.map(([s, r]) => `${s} => ${r ?? 'not found'}`).join(', ')}`)
console.log(`build-prebuilt: ${target}: ${ADDON} + ${bundled.map((b) => b.soname).join(', ')}; ldd resolves every non-runtime library inside the package`)
