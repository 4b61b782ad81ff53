import { availableParallelism } from 'node:os'
import { defineConfig, mergeConfig } from 'vitest/config'
import SlowFirstSequencer from './scripts/vitest/slow-first-sequencer'
import shared from './vite.config'

const TESTS = ['packages/*/{src,test}/**/*.test.ts', 'examples/*/{src,test}/**/*.test.ts']
/** Long reference runs, kill and pack-and-install tests: more than ~20 s each on 2 cores. */
const SLOW = '**/*.slow.test.ts'

/**
 * Two suites over the same files, split by name:
 * - `fast` (`pnpm test`): every other test file, ≤ 5 minutes on 2 cores.
 * - `slow` (`pnpm test:slow`): the `*.slow.test.ts` files only.
 * `pnpm test:full` runs both projects in one run, so every test file runs exactly once.
 */
export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Parity tests start PyTorch and run real training steps on 2 cores: seconds, not milliseconds.
      testTimeout: 180_000,
      hookTimeout: 300_000,
      // Each test file gets its own process: tfjs keeps one global engine and backend per process.
      pool: 'forks',
      // Two files at a time even on 2 cores (vitest's default there is 1): much of a file's time is spent importing
      // (single-threaded) or waiting for PyTorch and CLI child processes, which the other file's work fills.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      sequence: { sequencer: SlowFirstSequencer },
      // One ESM copy of tfjs-core, transformed by Vite, for every package in a test process.
      server: { deps: { inline: [/@tensorflow\//] } },
      // Pre-bundle tfjs (esbuild, once per lockfile into node_modules/.vite/vitest/): tfjs-core's ESM is ~900 modules,
      // and a test file evaluated them one by one through vite-node (2-6 s of every file's time on 2 cores); bundled,
      // a file imports a few chunks. One bundle with shared chunks, so the deep registration imports below and the
      // backends use the same tfjs-core copy as `@tensorflow/tfjs-core`.
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: [
              '@tensorflow/tfjs-core',
              '@tensorflow/tfjs-core/dist/register_all_gradients',
              '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops',
              '@tensorflow/tfjs-backend-cpu',
              '@tensorflow/tfjs-backend-wasm',
              '@tensorflow/tfjs-backend-webgpu',
            ],
          },
        },
      },
      reporters: ['default', './scripts/vitest/slowest-files.ts'],
      // Is PyTorch here? Asked once per run, not once per test file.
      globalSetup: ['./scripts/vitest/torch-probe.global-setup.ts'],
      setupFiles: ['./scripts/vitest/torch-probe.setup.ts'],
      projects: [
        { extends: true, test: { name: 'fast', include: TESTS, exclude: ['**/node_modules/**', SLOW] } },
        { extends: true, test: { name: 'slow', include: TESTS.map((glob) => glob.replace(/\.test\.ts$/, '.slow.test.ts')) } },
      ],
    },
  }),
)
