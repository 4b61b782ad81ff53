import { defineConfig } from 'vite'

/**
 * tfjs-core, its gradient and chained-op registrations and the backends, pre-bundled by esbuild into
 * node_modules/.vite/deps_ssr (once per lockfile and config). tfjs-core's ESM is ~900 modules; vite-node would
 * transform and evaluate them one by one in every process (~4 s of CPU per `pnpm resnet` start, and again in each
 * data-parallel replica worker), while Node loads the bundle's few chunks natively. One bundle with shared chunks, so
 * the deep registration imports and the backends use the same tfjs-core copy as `@tensorflow/tfjs-core`.
 * vitest has its own cache of the same bundle (deps.optimizer in vitest.config.ts).
 */
export const TFJS_PREBUNDLED = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-core/dist/register_all_gradients',
  '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
]

/**
 * Shared by vitest and vite-node (examples, benchmarks): `@tinylab/source` resolves workspace packages to their
 * TypeScript sources, so nothing must be built first. tfjs-core's gradient and chained-op registrations ship only as
 * extensionless ESM that Node cannot load by itself: here they are pre-bundled with the rest of tfjs (published builds
 * bundle them instead: see packages/multi-device/tsup.config.ts).
 */
export default defineConfig({
  resolve: { conditions: ['@tinylab/source'] },
  ssr: {
    resolve: { conditions: ['@tinylab/source'], externalConditions: ['@tinylab/source'] },
    optimizeDeps: { include: TFJS_PREBUNDLED },
  },
  plugins: [
    {
      // A host that passes these conditions again in its inline config (the data-parallel module server does) gets
      // them twice after the merge, and so another optimizer config hash: it would re-bundle deps_ssr, and the next
      // vite-node start would re-bundle it back. One of each keeps one bundle for every process.
      name: 'tinylab:unique-conditions',
      config(config) {
        const unique = (list: string[] | undefined): string[] | undefined => (list ? [...new Set(list)] : list)
        if (config.resolve) config.resolve.conditions = unique(config.resolve.conditions)
        if (config.ssr?.resolve) {
          config.ssr.resolve.conditions = unique(config.ssr.resolve.conditions)
          config.ssr.resolve.externalConditions = unique(config.ssr.resolve.externalConditions)
        }
      },
    },
    {
      // Vite starts an environment's dependency optimizer when its HTTP server listens; vite-node (and the
      // data-parallel module server) never listen, so start it here, before the first module is resolved.
      name: 'tinylab:ssr-deps-optimizer',
      apply: 'serve',
      async configureServer(server) {
        await server.environments.ssr.depsOptimizer?.init()
      },
    },
  ],
})
