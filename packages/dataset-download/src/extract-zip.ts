import { createWriteStream, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import yauzl from 'yauzl'
import type { Entry, ZipFile } from 'yauzl'

export interface ExtractZipResult {
  /** The folder the archive now lives in. */
  dir: string
  files: number
  /** True when `dest` existed already: nothing was extracted (delete it to extract again). */
  existed: boolean
}

function openZip(file: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => (err ? reject(new Error(`${file}: not a readable zip archive: ${err.message}`)) : resolve(zip)))
  })
}

function openEntry(zip: ZipFile, entry: Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)))
  })
}

/**
 * Extracts `zipFile` so that `dest` appears all at once: entries go to a temporary sibling folder, which is renamed to
 * `dest` at the end (a crash leaves only the temporary folder, removed on the next run). When the archive holds a
 * single top-level folder (`tiny-imagenet-200/…`), that folder becomes `dest`. Entries that would escape the folder
 * (`../x`, absolute paths) are an error. CRCs are checked by yauzl while reading.
 *
 * @example
 * ```ts
 * const { dir, files } = await extractZipAtomic('./data/tiny-imagenet-200.zip', './data/tiny-imagenet-200')
 * ```
 */
export async function extractZipAtomic(zipFile: string, dest: string): Promise<ExtractZipResult> {
  const target = path.resolve(dest)
  if (existsSync(target)) return { dir: target, files: 0, existed: true }
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.extracting`)
  rmSync(tmp, { recursive: true, force: true })
  await mkdir(tmp, { recursive: true })
  let files = 0
  try {
    const zip = await openZip(zipFile)
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e: Error) => reject(new Error(`${zipFile}: ${e.message}`)))
      zip.on('end', resolve)
      zip.on('entry', (entry: Entry) => {
        const name = entry.fileName.replace(/\\/g, '/')
        const out = path.resolve(tmp, name)
        if (out !== tmp && !out.startsWith(tmp + path.sep)) {
          reject(new Error(`${zipFile}: entry "${entry.fileName}" would be written outside the target folder`))
          zip.close()
          return
        }
        const work = name.endsWith('/')
          ? mkdir(out, { recursive: true })
          : mkdir(path.dirname(out), { recursive: true })
              .then(() => openEntry(zip, entry))
              .then((stream) => pipeline(stream, createWriteStream(out)))
              .then(() => {
                files++
              })
        work.then(
          () => zip.readEntry(),
          (e: unknown) => {
            reject(new Error(`${zipFile}: cannot extract "${entry.fileName}": ${(e as Error).message}`))
            zip.close()
          },
        )
      })
      zip.readEntry()
    })
    const top = readdirSync(tmp)
    const single = top.length === 1 && top[0] !== undefined && statSync(path.join(tmp, top[0])).isDirectory() ? path.join(tmp, top[0]) : undefined
    renameSync(single ?? tmp, target)
    if (single) rmSync(tmp, { recursive: true, force: true })
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
  return { dir: target, files, existed: false }
}
