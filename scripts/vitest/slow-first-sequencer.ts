import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * Starts the `*.slow.test.ts` files first, then vitest's usual order (slowest known first, else largest file first).
 * On a clean clone vitest has no timings cached and would order by file size, which can leave a 10-minute reference run
 * for last, alone on one worker while the other idles: first, it overlaps with everything else.
 */
export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const slow = (f: TestSpecification): number => (f.moduleId.endsWith('.slow.test.ts') ? 0 : 1)
    // Array.prototype.sort is stable: within each group the base order stays.
    return sorted.sort((a, b) => slow(a) - slow(b))
  }
}
