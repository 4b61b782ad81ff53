import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { copyFile, link, open, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

const TMP_MARK = '.tmp-'

/** The temporary name used while `target` is written: same folder (so rename is atomic), our pid inside. */
function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`)
}

async function fsyncDir(dir: string): Promise<void> {
  // POSIX: the rename is only durable once the directory entry is flushed. Windows cannot open a directory: skip there.
  let handle
  try {
    handle = await open(dir, constants.O_RDONLY)
  } catch {
    return
  }
  try {
    await handle.sync()
  } catch {
    // Some filesystems (e.g. certain network mounts) refuse fsync on directories; the data file itself is synced.
  } finally {
    await handle.close()
  }
}

export interface WriteFileAtomicOptions {
  /**
   * Other paths that get the same content (hard links where the filesystem allows), put in place before `target` is:
   * whoever sees the new `target` can rely on these copies being complete too.
   */
  copies?: readonly string[]
}

/**
 * Writes `chunks` to `target` so that a crash or SIGKILL at any moment leaves either the old file or the complete new
 * one: write a temp file in the same folder, fsync it, rename it over `target`, fsync the folder.
 *
 * @example
 * await writeFileAtomic('runs/checkpoint.safetensors', encodeSafetensors(tensors), { copies: ['runs/model_best.safetensors'] })
 */
export async function writeFileAtomic(target: string, chunks: readonly Uint8Array[], options: WriteFileAtomicOptions = {}): Promise<void> {
  const tmp = tempName(target)
  // Node's messages for a full disk ("ENOSPC: no space left on device, write") do not say which file.
  const named = (e: unknown): Error => new Error(`${target}: cannot write (${(e as Error).message})`, { cause: e })
  const handle = await open(tmp, 'wx').catch((e: unknown) => {
    throw named(e)
  })
  try {
    for (let i = 0; i < chunks.length; i += 64) {
      const group = chunks.slice(i, i + 64).filter((c) => c.byteLength > 0) as Uint8Array[]
      // writev may write less than asked (a full disk first gives a short write, then ENOSPC): write the rest, or the
      // rename below would put a truncated file in place of the good one.
      while (group.length > 0) {
        let { bytesWritten } = await handle.writev(group)
        if (bytesWritten === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        while (group.length > 0 && bytesWritten >= (group[0] as Uint8Array).byteLength) bytesWritten -= (group.shift() as Uint8Array).byteLength
        if (bytesWritten > 0) group[0] = (group[0] as Uint8Array).subarray(bytesWritten)
      }
    }
    await handle.sync()
  } catch (e) {
    await handle.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw named(e)
  }
  await handle.close()
  try {
    for (const copy of options.copies ?? []) await copyFileAtomic(tmp, copy)
    await rename(tmp, target)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
  await fsyncDir(dirname(target))
}

/**
 * Atomically makes `target` a copy of `source` (a hard link when the filesystem allows: no bytes copied; the next atomic
 * write of `source` replaces its inode, so `target` keeps the old content).
 */
export async function copyFileAtomic(source: string, target: string): Promise<void> {
  const tmp = tempName(target)
  try {
    await link(source, tmp)
  } catch {
    await copyFile(source, tmp)
    const h = await open(tmp, 'r+')
    await h.sync()
    await h.close()
  }
  await rename(tmp, target)
  await fsyncDir(dirname(target))
}

/** Removes temp files left in `dir` by writers that died (their pid is gone). Returns the removed names. */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    const m = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/u.exec(name)
    if (!m) continue
    const pid = Number(m[1])
    if (pid !== process.pid && isAlive(pid)) continue
    if (pid === process.pid) continue
    await rm(join(dir, name), { force: true })
    removed.push(name)
  }
  return removed
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
