// `pnpm check:packages`: what a user gets from `npm install @tinylab/<name>`, checked on the packed tarball of every
// publishable package (build first: `pnpm build`):
// - publint (exports / files / types that point at nothing) and attw, "are the types wrong" (types that resolve
//   differently from the JavaScript under node10, node16 ESM/CJS and bundlers);
// - a LICENSE file in the tarball;
// - no copy of tfjs-core's engine in any shipped JavaScript (tfjs keeps one engine per process; a second copy doubles
//   the download and can shadow the user's).
// Prints one line per package and exits 1 when any check fails.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { publint } from 'publint'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const attw = path.join(root, 'node_modules/.bin/attw')
// tfjs-core's engine.ts keeps the process-wide engine under this global key; only a bundled engine contains it.
const ENGINE_MARKER = '_tfengine'

const packages = readdirSync(path.join(root, 'packages'))
  .map((dir) => path.join(root, 'packages', dir))
  .filter((dir) => {
    try {
      return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).private !== true
    } catch {
      return false
    }
  })

const out = mkdtempSync(path.join(os.tmpdir(), 'tinylab-check-packages-'))
let failures = 0
try {
  for (const dir of packages) {
    const { name } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
    const problems = []
    const packed = execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: dir, encoding: 'utf8' })
    const tarball = path.join(out, path.basename(packed.trim().split('\n').filter((l) => l.endsWith('.tgz')).pop() ?? ''))
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean)

    const { messages } = await publint({ pkgDir: dir, level: 'warning', pack: 'pnpm' })
    for (const m of messages) problems.push(`publint ${m.type} ${m.code} ${JSON.stringify(m.args)}`)

    try {
      execFileSync(attw, [tarball, '--format', 'ascii'], { encoding: 'utf8', stdio: 'pipe' })
    } catch (err) {
      problems.push(`attw:\n${String(err.stdout ?? err.message).trim()}`)
    }

    if (!files.includes('package/LICENSE')) problems.push('no LICENSE in the tarball')

    const unpacked = path.join(out, path.basename(tarball, '.tgz'))
    mkdirSync(unpacked)
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked])
    const withEngine = files.filter((f) => /\.(c|m)?js$/.test(f) && readFileSync(path.join(unpacked, f), 'utf8').includes(ENGINE_MARKER))
    if (withEngine.length > 0) problems.push(`a copy of tfjs-core's engine in ${withEngine.join(', ')}`)

    if (problems.length === 0) console.log(`ok   ${name}: publint, attw, LICENSE, no bundled tfjs-core (${files.length} files)`)
    else {
      failures++
      console.log(`FAIL ${name}:\n  ${problems.join('\n  ')}`)
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true })
}
process.exit(failures === 0 ? 0 : 1)
