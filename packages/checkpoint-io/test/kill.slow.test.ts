import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, watch } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { describe, expect, it } from 'vitest'
import { type HostTensor, CheckpointManager, loadCheckpoint } from '../src/index'
import { ELEMENTS, stateFor } from './_kill-writer'

// 20 kills of the default format (the bar); the .pth writer shares writeFileAtomic, so fewer rounds there.
const ROUNDS: Record<string, number> = { safetensors: 20, pth: 8 }

const hasTempFile = (dir: string): boolean => readdirSync(dir).some((n) => n.includes('.tmp-'))

/**
 * Starts the writer, lets it save at least once more, kills it, and returns the last step it reported.
 * `delayMs`: kill at that moment after the first report (anywhere in the loop). `'inside-write'`: freeze the child with
 * SIGSTOP when a temp file appears and kill it only if the temp file still exists, so the kill surely tears a write
 * (random moments alone can miss every write on a fast disk).
 */
function runAndKill(dir: string, format: string, when: number | 'inside-write'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '_kill-writer.ts'), dir, format], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let lastSaved = -1
    let stderr = ''
    let armed = false
    const arm = (): void => {
      if (when !== 'inside-write') {
        setTimeout(() => child.kill('SIGKILL'), when)
        return
      }
      const watcher = watch(dir, (_event, name) => {
        if (!name?.includes('.tmp-') || child.exitCode !== null) return
        child.kill('SIGSTOP')
        if (hasTempFile(dir)) {
          watcher.close()
          child.kill('SIGKILL')
        } else child.kill('SIGCONT')
      })
      child.on('exit', () => watcher.close())
    }
    child.stdout.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString().matchAll(/saved (\d+)/gu)) lastSaved = Number(m[1])
      if (!armed) {
        armed = true
        arm()
      }
    })
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(lastSaved)
      else reject(new Error(`writer exited by itself (code ${code}, signal ${signal}): ${stderr}`))
    })
  })
}

function expectComplete(state: Record<string, unknown>, what: string): number {
  const step = state.step as number
  const expected = stateFor(step)
  expect(state.epoch, what).toBe(step)
  for (const key of ['w.a', 'w.b'] as const) {
    const t = (state.state_dict as Record<string, HostTensor>)[key] as HostTensor
    expect(t.size, what).toBe(ELEMENTS)
    expect(Buffer.from(t.bytes()).equals(Buffer.from(expected.state_dict[key]?.bytes() as Uint8Array)), `${what} ${key}`).toBe(true)
  }
  return step
}

describe.each(['safetensors', 'pth'])('SIGKILL while saving (%s)', (format) => {
  it(`the last complete checkpoint always loads, over ${ROUNDS[format]} kills`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `kill-${format}-`))
    let previous = 0
    let tornWrites = 0
    let seed = 12345
    for (let round = 0; round < (ROUNDS[format] ?? 0); round++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      // Even rounds kill inside a write for sure; odd rounds at a random moment (inside or between writes).
      const lastReported = await runAndKill(dir, format, round % 2 === 0 ? 'inside-write' : 10 + (seed % 250))
      if (hasTempFile(dir)) tornWrites++
      const manager = await CheckpointManager.open({ dir, format: format as 'safetensors' | 'pth' })
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-')), 'stale temp files are cleaned').toEqual([])
      const step = expectComplete(await loadCheckpoint(manager.path('checkpoint')), `round ${round}`)
      // Durable and monotonic: at least the last save the child reported, never older than before.
      expect(step).toBeGreaterThanOrEqual(Math.max(lastReported, previous))
      // save(k) puts model_best (k % 3 == 0) in place before it replaces the checkpoint: a checkpoint at step s proves
      // that save(s)'s best is in place, and model_best is newer only when the kill hit save(s + 1) between the two.
      const lastFinishedBest = 3 * Math.floor(step / 3)
      if (lastFinishedBest >= 3 || existsSync(manager.path('model_best'))) {
        const best = expectComplete(await loadCheckpoint(manager.path('model_best')), `round ${round} best`)
        expect(best % 3, `round ${round}: model_best is a best step`).toBe(0)
        expect([lastFinishedBest, step + 1], `round ${round}: model_best (${best}) after checkpoint ${step}`).toContain(best)
      }
      previous = step
    }
    // Every 'inside-write' round must have torn a write, or this test proves nothing.
    expect(tornWrites).toBeGreaterThanOrEqual(Math.ceil((ROUNDS[format] ?? 0) / 2))
    console.info(`${format}: ${ROUNDS[format]} kills, ${tornWrites} left a torn temp file, final step ${previous}`)
  })
})
