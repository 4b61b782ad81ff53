/**
 * `pnpm bench <name> [args]`: runs scripts/bench/<name>.ts, whose `run(args)` prints a JSON result line and the ratios
 * against the reference (PyTorch CPU) measured in the same run.
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

interface BenchModule {
  run(args: string[]): Promise<void>
}

const here = path.dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort()

const [name, ...args] = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'))
if (!name || !available.includes(name)) {
  console.error(`usage: pnpm bench <name> [args]\n  names: ${available.join(', ') || '(none yet)'}`)
  process.exit(2)
}
const mod = (await import(path.join(here, `${name}.ts`))) as BenchModule
await mod.run(args)
// wasm's pthread workers (and Dawn) keep Node alive after the last step: a finished benchmark must release the machine
// (and /tmp/bench.lock) for the next one.
process.exit(0)
