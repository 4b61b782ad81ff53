import { availableParallelism } from 'node:os'
import { defineConfig, mergeConfig } from 'vitest/config'
import SlowFirstSequencer from './scripts/vitest/slow-first-sequencer'
import shared, { TFJS_PREBUNDLED } from './vite.config'

const TESTS = ['packages/*/{src,test}/**/*.test.ts', 'examples/*/{src,test}/**/*.test.ts', 'scripts/**/*.test.ts']
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
      // tfjs pre-bundled (see TFJS_PREBUNDLED in vite.config.ts): a test file imports a few chunks instead of evaluating
      // ~900 tfjs-core modules one by one through vite-node (2-6 s of every file's time on 2 cores).
      deps: { optimizer: { ssr: { enabled: true, include: TFJS_PREBUNDLED } } },
      reporters: ['default', './scripts/vitest/slowest-files.ts'],
      // Is PyTorch here? Asked once per run, not once per test file. And vite-node's tfjs bundle, made once.
      globalSetup: ['./scripts/vitest/torch-probe.global-setup.ts', './scripts/vitest/vite-node-deps.global-setup.ts'],
      setupFiles: ['./scripts/vitest/torch-probe.setup.ts'],
      projects: [
        { extends: true, test: { name: 'fast', include: TESTS, exclude: ['**/node_modules/**', SLOW] } },
        { extends: true, test: { name: 'slow', include: TESTS.map((glob) => glob.replace(/\.test\.ts$/, '.slow.test.ts')) } },
      ],
    },
  }),
)
