/**
 * The repository's import rules, checked on every import in packages/*, examples/* and scripts/ (parsed with
 * TypeScript's own pre-processor: static imports, re-exports, `import()` and `require()` of string literals):
 * - nothing reaches into another package, example or the scripts by path: across those, only `@tinylab/<name>` entries
 *   (and the subpaths a package's `exports` lists, such as `@tinylab/test-utils/<module>`), never `src/`, `test/` or
 *   `dist/` of another package;
 * - no package imports an example (or the scripts, which have no entry at all);
 * - every `@tinylab/*` import is declared in the importing package.json, and the declared workspace dependencies
 *   (dependencies, devDependencies, peers and optional ones) form no cycle: pnpm builds in that order;
 * - no import cycle runs through files of two packages.
 * Files at the root (tsup.base.ts) are shared build configuration, open to all. `@tinylab/test-utils` is the one exception to the third rule: private test helpers read from source (never built,
 * packed or sorted), some of which build models, while the models' tests use its other helpers. The fourth rule still
 * holds for it: no file cycle passes through it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SOURCE = /\.(ts|mts|cts|mjs|cjs|js)$/
const SKIP_DIRS = new Set(['node_modules', 'dist', 'results', '.vite'])
const TEST_UTILS = '@tinylab/test-utils'

interface Unit {
  /** 'packages/multi-device', 'examples/word-lm-generate' or 'scripts'. */
  dir: string
  /** The package.json name; the root package's for scripts. */
  name: string
  kind: 'package' | 'example' | 'scripts'
  manifest: { name: string; exports?: unknown; dependencies?: Deps; devDependencies?: Deps; peerDependencies?: Deps; optionalDependencies?: Deps }
}
type Deps = Record<string, string>

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T

const units: Unit[] = [
  ...(['packages', 'examples'] as const).flatMap((top) =>
    readdirSync(path.join(ROOT, top))
      .filter((d) => existsSync(path.join(ROOT, top, d, 'package.json')))
      .map((d): Unit => {
        const manifest = readJson<Unit['manifest']>(path.join(ROOT, top, d, 'package.json'))
        return { dir: `${top}/${d}`, name: manifest.name, kind: top === 'packages' ? 'package' : 'example', manifest }
      }),
  ),
  { dir: 'scripts', name: 'tinylab', kind: 'scripts', manifest: readJson<Unit['manifest']>(path.join(ROOT, 'package.json')) },
]
const byName = new Map(units.map((u) => [u.name, u]))

function unitOf(file: string): Unit | undefined {
  const rel = path.relative(ROOT, file)
  return units.find((u) => rel === u.dir || rel.startsWith(`${u.dir}/`))
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry)
    if (statSync(full).isDirectory()) return SKIP_DIRS.has(entry) ? [] : sourceFiles(full)
    return SOURCE.test(entry) && !entry.endsWith('.d.ts') ? [full] : []
  })
}

const files = units.flatMap((u) => sourceFiles(path.join(ROOT, u.dir)))
const importsOf = new Map(files.map((f) => [f, ts.preProcessFile(readFileSync(f, 'utf8'), true, true).importedFiles.map((i) => i.fileName)]))

/** The file a relative specifier names, trying TypeScript's extensions and index files. */
function resolveRelative(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier)
  const candidates = [base, `${base}.ts`, `${base}.mts`, `${base}.mjs`, `${base}.js`, path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')]
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base
}

/** `@tinylab/name/sub` → ['@tinylab/name', 'sub' | undefined]. */
function splitPackage(specifier: string): [string, string | undefined] {
  const [scope, name, ...rest] = specifier.split('/')
  return [`${scope}/${name}`, rest.length > 0 ? rest.join('/') : undefined]
}

/** Whether `sub` is a subpath the package's `exports` offers (exact key or a `./*` pattern). */
function exportsSubpath(unit: Unit, sub: string): boolean {
  const exportsMap = unit.manifest.exports
  if (exportsMap === null || typeof exportsMap !== 'object') return false
  return Object.keys(exportsMap).some((key) => {
    if (key === `./${sub}`) return true
    const star = key.indexOf('*')
    return star >= 0 && `./${sub}`.startsWith(key.slice(0, star)) && `./${sub}`.endsWith(key.slice(star + 1))
  })
}

/** The source file a workspace specifier loads (the `@tinylab/source` entry or the exported subpath). */
function resolveWorkspace(unit: Unit, sub: string | undefined): string | undefined {
  const candidates = sub === undefined ? ['src/index.ts'] : [`src/${sub}.ts`, `src/${sub}/index.ts`]
  return candidates.map((c) => path.join(ROOT, unit.dir, c)).find((c) => existsSync(c))
}

interface Edge {
  from: string
  to: string
}

const problems: string[] = []
const fileEdges: Edge[] = []
const packageEdges = new Map<string, Set<string>>()
const rel = (f: string): string => path.relative(ROOT, f)

for (const [file, specifiers] of importsOf) {
  const unit = unitOf(file) as Unit
  for (const specifier of specifiers) {
    if (specifier.startsWith('.')) {
      const target = resolveRelative(file, specifier)
      const owner = unitOf(target)
      // Files at the repository root are the shared build configuration (tsup.base.ts), not a package.
      const rootConfig = owner === undefined && path.dirname(target) === ROOT
      if (owner !== unit && !rootConfig) {
        problems.push(`${rel(file)}: '${specifier}' reaches into ${owner?.dir ?? rel(target)} by path; import its public entry (@tinylab/<name>) instead`)
      } else fileEdges.push({ from: file, to: target })
      continue
    }
    if (!specifier.startsWith('@tinylab/')) continue
    const [name, sub] = splitPackage(specifier)
    const target = byName.get(name)
    if (target === undefined) {
      problems.push(`${rel(file)}: '${specifier}' is no workspace package`)
      continue
    }
    if (target === unit) continue
    if (unit.kind === 'package' && target.kind === 'example') problems.push(`${rel(file)}: a package imports the example ${target.dir}`)
    if (sub !== undefined && (/^(src|test|dist)(\/|$)/.test(sub) || !exportsSubpath(target, sub))) {
      problems.push(`${rel(file)}: '${specifier}' is not an entry of ${name} (its package.json exports no './${sub}')`)
    }
    const m = unit.manifest
    const declared = [m.dependencies, m.devDependencies, m.peerDependencies, m.optionalDependencies].some((d) => d?.[name] !== undefined)
    if (!declared && unit.name !== TEST_UTILS) problems.push(`${rel(file)}: imports ${name}, which ${unit.dir}/package.json does not declare`)
    const resolved = resolveWorkspace(target, sub)
    if (resolved !== undefined) fileEdges.push({ from: file, to: resolved })
  }
}

for (const unit of units) {
  if (unit.kind === 'scripts') continue
  const m = unit.manifest
  const deps = new Set(
    [m.dependencies, m.devDependencies, m.peerDependencies, m.optionalDependencies].flatMap((d) => Object.keys(d ?? {})).filter((n) => byName.has(n) && n !== unit.name),
  )
  packageEdges.set(unit.name, deps)
}

/** Strongly connected components with more than one node (Tarjan), i.e. the cycles of a directed graph. */
function cycles(nodes: string[], next: (n: string) => Iterable<string>): string[][] {
  let index = 0
  const order = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    order.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of next(v)) {
      if (!order.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, order.get(w) as number))
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop() as string
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const n of nodes) if (!order.has(n)) visit(n)
  return found
}

describe('imports across packages, examples and scripts', () => {
  it('parses the whole tree', () => {
    expect(files.length).toBeGreaterThan(100)
    expect(fileEdges.length).toBeGreaterThan(files.length)
  })

  it('no deep import, no package importing an example or a script, every @tinylab import declared', () => {
    expect(problems).toEqual([])
  })

  it('the declared workspace dependencies form no cycle', () => {
    expect(cycles([...packageEdges.keys()], (n) => packageEdges.get(n) ?? [])).toEqual([])
  })

  it('no import cycle runs through files of two packages', () => {
    const next = new Map<string, string[]>()
    for (const { from, to } of fileEdges) next.set(from, [...(next.get(from) ?? []), to])
    const crossing = cycles(files, (f) => next.get(f) ?? [])
      .filter((component) => new Set(component.map((f) => unitOf(f)?.dir)).size > 1)
      .map((component) => component.map(rel))
    expect(crossing).toEqual([])
  })
})
