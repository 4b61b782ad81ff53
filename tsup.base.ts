import type { Options } from 'tsup'

/** Shared build for every @tinylab package: one entry, ESM + CJS, declarations for both. */
export const base: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // import.meta.url in the CJS build (wasm file paths, worker scripts)
  shims: true,
}
