/**
 * Brings node_modules/.vite/deps_ssr (tfjs pre-bundled for vite-node: TFJS_PREBUNDLED in vite.config.ts) up to date
 * once, before any test starts `pnpm resnet` / `pnpm wordlm` or data-parallel workers. Otherwise, on a fresh clone or
 * after a lockfile change, several of those processes would start at once, each bundle, and each replace the folder
 * the others are loading from. When the folder is current this costs one vite-node start (~1 s).
 */
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { REPO_ROOT } from '@tinylab/test-utils/paths'

export default function prebundleForVite(): void {
  execFileSync(path.join(REPO_ROOT, 'node_modules/.bin/vite-node'), ['--config', 'vite.config.ts', 'scripts/vitest/empty-module.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}
