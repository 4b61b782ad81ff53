// `tsc --noEmit` on one file alone, with the workspace's compiler options: what a consumer's editor says about it.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './paths'

/** Type-checks `file` on its own; `code` 0 and empty `stdout` when tsc accepts it. One full tsc run (~20 s). */
export async function typecheckAlone(file: string): Promise<{ code: number; stdout: string }> {
  // Next to the file, so that its imports resolve from the same package.
  const dir = mkdtempSync(path.join(path.dirname(file), '.tsc-'))
  try {
    const config = { extends: path.join(REPO_ROOT, 'tsconfig.base.json'), compilerOptions: { noEmit: true }, files: [file] }
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config))
    const tsc = path.join(REPO_ROOT, 'node_modules/.bin/tsc')
    return await promisify(execFile)(tsc, ['-p', path.join(dir, 'tsconfig.json')], { cwd: REPO_ROOT, encoding: 'utf8' }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
