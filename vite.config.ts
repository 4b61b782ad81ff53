import { defineConfig } from 'vite'

/**
 * Shared by vitest and vite-node (examples, benchmarks). Two reasons it exists:
 * - `@tinylab/source` resolves workspace packages to their TypeScript sources, so nothing must be built first.
 * - tfjs-core ships its gradient and chained-op registrations only as extensionless ESM files that Node cannot load
 *   by itself; letting Vite transform `@tensorflow/*` gives one ESM copy of tfjs-core for every package.
 *   (Published builds bundle those registrations instead: see packages/multi-device/tsup.config.ts.)
 */
export default defineConfig({
  resolve: { conditions: ['@tinylab/source'] },
  ssr: { resolve: { conditions: ['@tinylab/source'], externalConditions: ['@tinylab/source'] } },
  server: { deps: { inline: [/@tensorflow\//] } },
})
