/**
 * A vitest reporter that prints, after the default one, the slowest test files of the run and every file with skipped
 * tests with the reasons it gave (a title ending in `(skipped: …)`, or a `noteSkip` line from @tinylab/test-utils/skip),
 * so a regression in the fast suite's time or a machine that silently lacks a backend shows in every run's last lines.
 *
 * A file's time is what it held a worker for: environment, import (collection) and all its tests and hooks.
 */
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node'
import { SKIP_NOTE_PREFIX } from '@tinylab/test-utils/skip'

/** Files listed after every run. */
const SHOWN = 10
/** The fast suite's budget for one file (see the `*.slow.test.ts` convention in vitest.config.ts). */
const FAST_FILE_BUDGET_S = 20

function seconds(module: TestModule): number {
  const d = module.diagnostic()
  return (d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration) / 1000
}

/** Reasons named in the titles of a file's skipped tests and suites, and noted while it ran, once each. */
function skipReasons(module: TestModule, noted: ReadonlySet<string> | undefined): { skipped: number; reasons: string[] } {
  const reasons = new Set<string>(noted)
  let skipped = 0
  for (const test of module.children.allTests('skipped')) {
    skipped++
    for (let entity: TestCase | TestSuite | TestModule = test; entity.type !== 'module'; entity = entity.parent) {
      const m = /\(skipped: (.+)\)\s*$/.exec(entity.name)
      if (m) reasons.add(m[1] as string)
    }
  }
  return { skipped, reasons: [...reasons] }
}

export default class SlowestFilesReporter implements Reporter {
  private root = process.cwd()
  /** noteSkip lines by the id of the task that printed them (a file's id while it is collected). */
  private notes = new Map<string, Set<string>>()

  onInit(ctx: { config: { root: string } }): void {
    this.root = ctx.config.root
  }

  onUserConsoleLog(log: { content: string; taskId?: string }): void {
    if (log.taskId === undefined || !log.content.startsWith(SKIP_NOTE_PREFIX)) return
    const notes = this.notes.get(log.taskId) ?? new Set<string>()
    notes.add(log.content.slice(SKIP_NOTE_PREFIX.length).trim())
    this.notes.set(log.taskId, notes)
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (testModules.length === 0) return
    const rel = (m: TestModule): string => (m.moduleId.startsWith(`${this.root}/`) ? m.moduleId.slice(this.root.length + 1) : m.moduleId)
    const timed = testModules.map((m) => ({ file: rel(m), project: m.project.name, s: seconds(m) })).sort((a, b) => b.s - a.s)
    const total = timed.reduce((sum, t) => sum + t.s, 0)
    const lines = [`Slowest test files (of ${timed.length}, ${total.toFixed(1)} s of worker time in all):`]
    for (const t of timed.slice(0, SHOWN)) lines.push(`  ${t.s.toFixed(1).padStart(7)} s  ${t.file}${t.project ? `  [${t.project}]` : ''}`)
    const over = timed.filter((t) => t.project === 'fast' && t.s > FAST_FILE_BUDGET_S)
    if (over.length > 0) {
      lines.push(`Fast-suite files over ${FAST_FILE_BUDGET_S} s (shrink them, or rename to *.slow.test.ts for pnpm test:full):`)
      for (const t of over) lines.push(`  ${t.s.toFixed(1).padStart(7)} s  ${t.file}`)
    }
    const skips = testModules.map((m) => ({ file: rel(m), ...skipReasons(m, this.notes.get(m.id)) })).filter((s) => s.skipped > 0)
    if (skips.length > 0) {
      lines.push('Skipped tests, by file:')
      for (const s of skips) lines.push(`  ${s.file}: ${s.skipped} skipped${s.reasons.length > 0 ? ` (${s.reasons.join('; ')})` : ''}`)
    }
    process.stdout.write(`\n${lines.join('\n')}\n`)
  }
}
