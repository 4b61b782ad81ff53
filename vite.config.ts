import { defineConfig } from 'vite'

/**
 * Shared by vitest and vite-node (examples, benchmarks): `@tinylab/source` resolves workspace packages to their
 * TypeScript sources, so nothing must be built first. Vite also transforms tfjs-core's gradient and chained-op
 * registrations, which ship only as extensionless ESM that Node cannot load by itself (published builds bundle them
 * instead: see packages/multi-device/tsup.config.ts).
 */
export default defineConfig({
  resolve: { conditions: ['@tinylab/source'] },
  ssr: { resolve: { conditions: ['@tinylab/source'], externalConditions: ['@tinylab/source'] } },
})
