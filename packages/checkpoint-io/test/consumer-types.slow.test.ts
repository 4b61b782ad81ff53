// `tsc --noEmit` on a consumer's file alone (fixtures/consumer-types.ts, with the workspace's compiler options):
// `model.loadStateDict(await loadCheckpoint(p))` type-checks with no cast. Slow: one full tsc run (~20 s).
import { REPO_ROOT } from '@tinylab/test-utils/paths'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('tsc accepts model.loadStateDict(await loadCheckpoint(p)) with no cast, and rejects a non-dict', async () => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const dir = mkdtempSync(path.join(here, 'fixtures', '.tsc-'))
  try {
    const config = { extends: path.join(REPO_ROOT, 'tsconfig.base.json'), compilerOptions: { noEmit: true }, files: [path.join(here, 'fixtures/consumer-types.ts')] }
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config))
    const tsc = path.join(REPO_ROOT, 'node_modules/.bin/tsc')
    const result = await promisify(execFile)(tsc, ['-p', path.join(dir, 'tsconfig.json')], { cwd: REPO_ROOT, encoding: 'utf8' }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    )
    expect(result).toEqual({ code: 0, stdout: '' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
