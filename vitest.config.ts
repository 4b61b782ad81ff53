import { defineConfig, mergeConfig } from 'vitest/config'
import shared from './vite.config'

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      include: ['packages/*/{src,test}/**/*.test.ts', 'examples/*/{src,test}/**/*.test.ts'],
      // Parity tests start PyTorch and run real training steps on 2 cores: seconds, not milliseconds.
      testTimeout: 180_000,
      hookTimeout: 300_000,
      // Each test file gets its own process: tfjs keeps one global engine and backend per process.
      pool: 'forks',
      // One ESM copy of tfjs-core, transformed by Vite, for every package in a test process.
      server: { deps: { inline: [/@tensorflow\//] } },
    },
  }),
)
