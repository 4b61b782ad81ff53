/**
 * Build-time esbuild plugin: bundles tfjs-core's gradient and chained-op registration modules, and nothing else of
 * tfjs-core.
 *
 * Those modules ship only as extensionless ESM inside `@tensorflow/tfjs-core/dist/` (Node can load neither the ESM nor,
 * as CommonJS, the syntax), so they have to be bundled. Bundled naively they drag in a private copy of the engine,
 * tensor.ts and every op (~1 MB). Instead, every tfjs-core module they import is replaced by a small module that
 * re-exports the same names from the user's `@tensorflow/tfjs-core` (external), looked up in its public API at build
 * time. Only the few names tfjs-core does not export (the gradient ops such as conv2DBackpropFilter, each a one-line
 * `ENGINE.runKernel` wrapper) come from their own files, whose imports go through the same substitution.
 */
import type { Plugin } from 'esbuild'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)
const CORE = '@tensorflow/tfjs-core'
const coreDist = path.join(path.dirname(require.resolve(`${CORE}/package.json`)), 'dist')
const PUBLIC_NS = 'tfjs-core-public'

/** The registration modules that are bundled as they are. */
function isRegistration(file: string): boolean {
  const rel = path.relative(coreDist, file)
  return rel.startsWith('gradients/') || rel === 'register_all_gradients.js' || rel.startsWith('public/chained_ops/')
}

/** Names a tfjs-core dist module exports (its `export ...` statements, following `export * from`). */
function exportedNames(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return []
  seen.add(file)
  const source = readFileSync(file, 'utf8')
  const names: string[] = []
  for (const m of source.matchAll(/^export (?:declare )?(?:const|let|var|function\*?|async function|class|enum) ([A-Za-z_$][\w$]*)/gm)) names.push(m[1] as string)
  for (const m of source.matchAll(/^export \{([^}]*)\}/gm)) {
    for (const part of (m[1] as string).split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop()
      if (name) names.push(name)
    }
  }
  for (const m of source.matchAll(/^export \* from '([^']+)'/gm)) names.push(...exportedNames(resolveDist(file, m[1] as string), seen))
  return [...new Set(names)]
}

function resolveDist(importer: string, specifier: string): string {
  const base = path.resolve(path.dirname(importer), specifier)
  for (const candidate of [`${base}.js`, path.join(base, 'index.js'), base]) if (existsSync(candidate)) return candidate
  throw new Error(`tfjs-core-registrations: cannot resolve ${specifier} from ${importer}`)
}

type TfModule = Record<string, unknown>

/**
 * Where `name` (exported by the tfjs-core module `file`) lives in the public API, as an expression on `tf`, or
 * undefined when tfjs-core does not export it. A utility module's names are looked up in the namespace of that name
 * first (`util.assert` is not the top-level `assert`).
 */
function publicPath(tf: TfModule, file: string, name: string): string | undefined {
  if (name === 'ENGINE') return 'tf.engine()'
  // The Tensor class the first-loaded tfjs-core registered globally (tensor.ts: getGlobal('Tensor', ...)).
  if (name === 'getGlobalTensorClass') return '(() => globalThis._tfGlobals?.get("Tensor") ?? tf.Tensor)'
  const stem = path.basename(file, '.js')
  const namespaces = Object.keys(tf).filter((k) => typeof tf[k] === 'object' && tf[k] !== null)
  const order = [...(namespaces.includes(stem) ? [stem] : []), '', 'backend_util', ...namespaces]
  for (const ns of order) {
    const scope = (ns === '' ? tf : tf[ns]) as TfModule
    if (name in scope) return ns === '' ? `tf.${name}` : `tf.${ns}.${name}`
  }
  return undefined
}

/** The names `importer` takes from `specifier` (`*` for a namespace import). */
function importedNames(importer: string, specifier: string): string[] {
  const source = readFileSync(importer, 'utf8')
  const names: string[] = []
  const quoted = specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  for (const m of source.matchAll(new RegExp(`^(?:import|export) ([^;]*?) from '${quoted}'`, 'gm'))) {
    const clause = (m[1] as string).trim()
    if (clause.startsWith('* as ') || clause === '*') names.push('*')
    else for (const part of clause.replace(/[{}]/g, '').split(',')) {
      const name = part.trim().split(/\s+as\s+/)[0]
      if (name) names.push(name)
    }
  }
  return names
}

export function tfjsCoreRegistrations(): Plugin {
  const tf = require(CORE) as TfModule
  return {
    name: 'tfjs-core-registrations',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (!args.importer.startsWith(coreDist + path.sep)) return undefined
        const file = resolveDist(args.importer, args.path)
        if (isRegistration(file)) return { path: file }
        // One stand-in per (module, names taken): only those names, so nothing else of the module is pulled in.
        return { path: `${file}|${importedNames(args.importer, args.path).join(',')}`, namespace: PUBLIC_NS }
      })
      // The names tfjs-core does not export: that module's own file, bundled.
      build.onResolve({ filter: /\?own$/ }, (args) => ({ path: args.path.slice(0, -'?own'.length) }))
      build.onLoad({ filter: /.*/, namespace: PUBLIC_NS }, (args) => {
        const [file, list] = args.path.split('|') as [string, string]
        const taken = list.split(',')
        const names = taken.includes('*') ? exportedNames(file) : taken
        const lines = [`import * as tf from '${CORE}'`]
        const own: string[] = []
        for (const name of new Set(names)) {
          const where = publicPath(tf, file, name)
          if (where !== undefined) lines.push(`export const ${name} = ${where}`)
          // A namespace import sees only the public names; the registration modules use no others through one.
          else if (!taken.includes('*')) own.push(name)
        }
        if (own.length > 0) lines.push(`export { ${own.join(', ')} } from ${JSON.stringify(`${file}?own`)}`)
        return { contents: lines.join('\n'), loader: 'js', resolveDir: path.dirname(file) }
      })
    },
  }
}
