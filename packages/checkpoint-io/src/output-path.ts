import { existsSync, mkdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

/** What an fs error code means for someone choosing an output path. */
function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException
  switch (err.code) {
    case 'EROFS':
      return 'read-only file system'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left on the device'
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder'
    default:
      return err.message
  }
}

/**
 * Makes sure `dir` exists (creating it and its parents) and that a file can be created in it, before any work starts,
 * so a run never trains for an hour and then fails to save. Errors name the path, what it is for (`what`, e.g.
 * '--logdir') and the reason: read-only, permission denied, no space, a file in the way. Folders are created one level
 * at a time because Node's recursive mkdir reports ENOENT for every failure, read-only file systems included.
 *
 * @example
 * prepareOutputDir('runs', '--logdir')   // Error: runs: cannot create the folder for --logdir (read-only file system)
 */
export function prepareOutputDir(dir: string, what: string): void {
  const missing: string[] = []
  let existing = resolve(dir)
  while (!existsSync(existing) && dirname(existing) !== existing) {
    missing.unshift(existing)
    existing = dirname(existing)
  }
  if (!statSync(existing).isDirectory()) throw new Error(`${dir}: cannot create the folder for ${what}: ${existing} is a file, not a folder`)
  for (const m of missing) {
    try {
      mkdirSync(m)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(m).isDirectory()) continue
      throw new Error(`${dir}: cannot create the folder for ${what} (${reasonOf(e)})`, { cause: e })
    }
  }
  const probe = join(dir, `.tinylab-write-test-${process.pid}`)
  try {
    writeFileSync(probe, 'x')
  } catch (e) {
    throw new Error(`${dir}: cannot write in the folder for ${what} (${reasonOf(e)})`, { cause: e })
  } finally {
    rmSync(probe, { force: true })
  }
}

/**
 * `prepareOutputDir` for the folder of an output file, plus: the file is not a folder, and its file system has room
 * for `expectedBytes` (an estimate of the file's size; atomic writes need that much free beside the old file).
 *
 * @example
 * checkOutputFile('model.pt', '--save', { expectedBytes: 4 * numParams })
 */
export function checkOutputFile(file: string, what: string, options: { expectedBytes?: number } = {}): void {
  if (basename(resolve(file)) === '' || (existsSync(file) && statSync(file).isDirectory())) throw new Error(`${file}: ${what} names a folder, expected a file path`)
  const dir = dirname(resolve(file))
  prepareOutputDir(dir, what)
  const needed = options.expectedBytes ?? 0
  if (needed > 0) {
    const fs = statfsSync(dir)
    const free = Number(fs.bavail) * Number(fs.bsize)
    if (free < needed) {
      const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`
      throw new Error(`${file}: not enough space for ${what}: ${mb(free)} free on its file system, the file needs about ${mb(needed)}`)
    }
  }
}
