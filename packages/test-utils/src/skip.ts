/**
 * One line per test file that says why some of its tests skip here (no PyTorch, no real data, no oneDNN build, no
 * WebGPU adapter): `describe.skipIf` alone skips silently. Each test file runs in its own process (vitest.config.ts:
 * pool 'forks'), so "once per process" is once per file. The slowest-files reporter (scripts/vitest) repeats these
 * lines in its summary at the end of the run.
 */
export const SKIP_NOTE_PREFIX = 'skipped in this file: '

const noted = new Set<string>()

/** Prints `reason` once (if any) and returns it, so a caller can write `describe.skipIf(!!noteSkip(reason))`. */
export function noteSkip(reason: string | undefined): string | undefined {
  if (reason !== undefined && reason !== '' && !noted.has(reason)) {
    noted.add(reason)
    console.warn(`${SKIP_NOTE_PREFIX}${reason}`)
  }
  return reason
}
