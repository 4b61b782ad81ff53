import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkOutputFile, prepareOutputDir, writeFileAtomic } from '../src/index'

const tmp = mkdtempSync(path.join(tmpdir(), 'output-path-'))

/** Mounts a tmpfs at `dir` (root with CAP_SYS_ADMIN only); false where that is not possible. */
function mountTmpfs(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true })
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
const mounted: string[] = []
afterAll(() => {
  for (const m of mounted) execFileSync('umount', [m])
})

describe('prepareOutputDir / checkOutputFile (issue 19)', () => {
  it('creates missing folders and leaves no probe file behind', () => {
    const dir = path.join(tmp, 'a', 'b', 'runs')
    prepareOutputDir(dir, '--logdir')
    expect(readdirSync(dir)).toEqual([])
  })

  it('names the path, the flag and the file in the way', () => {
    const file = path.join(tmp, 'a-file')
    writeFileSync(file, 'x')
    expect(() => prepareOutputDir(path.join(file, 'runs'), '--logdir')).toThrow(`${path.join(file, 'runs')}: cannot create the folder for --logdir: ${file} is a file, not a folder`)
    expect(() => checkOutputFile(tmp, '--save')).toThrow(`${tmp}: --save names a folder, expected a file path`)
  })

  it('says how much space is missing', () => {
    const file = path.join(tmp, 'model.pt')
    expect(() => checkOutputFile(file, '--save', { expectedBytes: Number.MAX_SAFE_INTEGER })).toThrow(
      new RegExp(`^${file.replaceAll('.', '\\.')}: not enough space for --save: [\\d.]+ MB free on its file system, the file needs about 9007199254\\.7 MB$`),
    )
    expect(existsSync(file)).toBe(false)
  })

  const ro = path.join(tmp, 'ro')
  const canMountRo = mountTmpfs(ro, 'ro,size=64k')
  if (canMountRo) mounted.push(ro)
  it.skipIf(!canMountRo)('reports a read-only file system as such (Node says ENOENT for a recursive mkdir there)', () => {
    expect(() => prepareOutputDir(path.join(ro, 'runs', 'x'), '--logdir')).toThrow(`${path.join(ro, 'runs', 'x')}: cannot create the folder for --logdir (read-only file system)`)
  })

  const full = path.join(tmp, 'full')
  const canMountSmall = mountTmpfs(full, 'size=64k')
  if (canMountSmall) mounted.push(full)
  it.skipIf(!canMountSmall)('writeFileAtomic names its target when the disk fills up', async () => {
    const target = path.join(full, 'checkpoint.safetensors')
    await expect(writeFileAtomic(target, [new Uint8Array(1 << 20)])).rejects.toThrow(`${target}: cannot write (ENOSPC: no space left on device`)
    expect(readdirSync(full)).toEqual([])
  })
})
