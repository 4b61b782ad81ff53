import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { downloadFile, extractZipAtomic } from '@tinylab/dataset-download'
import type { DownloadProgress, ExpectedFile } from '@tinylab/dataset-download'

/** Where pytorch/examples keeps the three files word_language_model reads (WikiText-2 v1 `wiki.*.tokens`). */
export const WIKITEXT2_RAW_BASE_URL = 'https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2'

/** Sizes and sha256 of pytorch/examples' files (see ../shared/data/PROVENANCE.txt: byte-identical to WikiText-2 v1). */
export const WIKITEXT2_FILES: Record<'train' | 'valid' | 'test', Required<Pick<ExpectedFile, 'sizeBytes' | 'sha256'>>> = {
  train: { sizeBytes: 10797148, sha256: '9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f' },
  valid: { sizeBytes: 1121681, sha256: 'f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8' },
  test: { sizeBytes: 1256449, sha256: 'd790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0' },
}

export interface DownloadWikiTextOptions {
  /** Folder that will hold train.txt, valid.txt, test.txt (created). */
  dir: string
  /**
   * Either a base URL holding `train.txt`, `valid.txt`, `test.txt` (default: pytorch/examples on GitHub), or the URL of
   * a `.zip` such as the official `wikitext-2-v1.zip` (`wiki.train.tokens` … are then renamed to `train.txt` …).
   */
  url?: string
  /** Check the known sizes/sha256 of the raw files (default true for the raw files; zips are checked with `sha256`). */
  verify?: boolean
  /** sha256 of the zip when `url` is a zip. */
  sha256?: string
  retries?: number
  onProgress?: (p: DownloadProgress) => void
}

export interface DownloadWikiTextResult {
  dir: string
  files: string[]
  /** True when nothing had to be fetched. */
  cached: boolean
}

const SPLITS = ['train', 'valid', 'test'] as const

/**
 * Fetches WikiText-2 into `dir` in the layout data.py reads. Safe to re-run: complete files are checked and kept,
 * partial ones resume (HTTP Range), every file lands under its final name only once verified.
 *
 * @example
 * ```ts
 * await downloadWikiText({ dir: './data/wikitext-2', onProgress: (p) => console.error(formatProgress(p)) })
 * const corpus = new Corpus('./data/wikitext-2')
 * ```
 */
export async function downloadWikiText(options: DownloadWikiTextOptions): Promise<DownloadWikiTextResult> {
  const dir = path.resolve(options.dir)
  const url = options.url ?? WIKITEXT2_RAW_BASE_URL
  const files = SPLITS.map((s) => path.join(dir, `${s}.txt`))
  if (url.toLowerCase().endsWith('.zip')) {
    if (files.every((f) => existsSync(f))) return { dir, files, cached: true }
    mkdirSync(path.dirname(dir), { recursive: true })
    const zip = `${dir}.zip`
    await downloadFile({ url, dest: zip, sha256: options.sha256, retries: options.retries, onProgress: options.onProgress })
    const staging = `${dir}.unzipped`
    await extractZipAtomic(zip, staging)
    const found = new Map(walk(staging).map((f) => [path.basename(f), f]))
    mkdirSync(dir, { recursive: true })
    for (const s of SPLITS) {
      const src = found.get(`wiki.${s}.tokens`) ?? found.get(`${s}.txt`)
      if (!src) throw new Error(`${url}: the archive has neither wiki.${s}.tokens nor ${s}.txt`)
      renameSync(src, path.join(dir, `${s}.txt`))
    }
    rmSync(staging, { recursive: true, force: true })
    rmSync(zip, { force: true })
    return { dir, files, cached: false }
  }
  mkdirSync(dir, { recursive: true })
  const verify = options.verify ?? url === WIKITEXT2_RAW_BASE_URL
  let cached = true
  for (const s of SPLITS) {
    const r = await downloadFile({
      url: `${url.replace(/\/$/, '')}/${s}.txt`,
      dest: path.join(dir, `${s}.txt`),
      ...(verify ? WIKITEXT2_FILES[s] : {}),
      retries: options.retries,
      onProgress: options.onProgress,
    })
    cached &&= r.cached
  }
  return { dir, files, cached }
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
}
