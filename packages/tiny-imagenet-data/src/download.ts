import { existsSync, rmSync } from 'node:fs'
import path from 'node:path'
import { downloadFile, extractZipAtomic } from '@tinylab/dataset-download'
import type { DownloadProgress } from '@tinylab/dataset-download'

/** The official archive (CS231n); http only. */
export const TINY_IMAGENET_URL = 'http://cs231n.stanford.edu/tiny-imagenet-200.zip'
/** Size and md5 of the official archive, as torchvision-style loaders record them (no sha256 is published). */
export const TINY_IMAGENET_ZIP = { sizeBytes: 248_100_043, md5: '90528d7ca1a48142e341f4ef8d21d0de' }

export interface DownloadTinyImageNetOptions {
  /** Folder that will contain `tiny-imagenet-200/` (created). */
  dir: string
  /** Archive URL (default: the official one). With another URL, the built-in size/md5 are not applied. */
  url?: string
  /** Expected archive checksums/size; default: the official archive's when `url` is the default. */
  sha256?: string
  md5?: string
  sizeBytes?: number
  /** Keep the zip after extraction (default false). */
  keepZip?: boolean
  retries?: number
  onProgress?: (p: DownloadProgress) => void
}

export interface DownloadTinyImageNetResult {
  /** `<dir>/tiny-imagenet-200` */
  root: string
  /** True when the folder existed already: nothing was fetched. */
  cached: boolean
  files: number
}

/**
 * Downloads and extracts Tiny-ImageNet: resumes an interrupted download (HTTP Range, also across runs through
 * `<dir>/tiny-imagenet-200.zip.part`), shows progress through `onProgress`, verifies size and checksum, and extracts
 * to a temporary folder renamed into place, so `<dir>/tiny-imagenet-200` is either absent or complete.
 *
 * @example
 * ```ts
 * const { root } = await downloadTinyImageNet({ dir: './data', onProgress: (p) => console.error(formatProgress(p)) })
 * const { samples } = readSplit(root, 'train')
 * ```
 */
export async function downloadTinyImageNet(options: DownloadTinyImageNetOptions): Promise<DownloadTinyImageNetResult> {
  const dir = path.resolve(options.dir)
  const root = path.join(dir, 'tiny-imagenet-200')
  if (existsSync(root)) return { root, cached: true, files: 0 }
  const url = options.url ?? TINY_IMAGENET_URL
  const official = url === TINY_IMAGENET_URL
  const zip = path.join(dir, 'tiny-imagenet-200.zip')
  await downloadFile({
    url,
    dest: zip,
    sizeBytes: options.sizeBytes ?? (official ? TINY_IMAGENET_ZIP.sizeBytes : undefined),
    md5: options.md5 ?? (official ? TINY_IMAGENET_ZIP.md5 : undefined),
    sha256: options.sha256,
    retries: options.retries,
    onProgress: options.onProgress,
  })
  const r = await extractZipAtomic(zip, root)
  if (!existsSync(path.join(root, 'wnids.txt'))) throw new Error(`${url}: the archive has no wnids.txt at its top level (extracted to ${root})`)
  if (!options.keepZip) {
    rmSync(zip, { force: true })
  }
  return { root, cached: false, files: r.files }
}
