import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import { readSplit } from './layout'
import type { ClassSelection } from './layout'

export interface PrepareValOptions extends ClassSelection {
  /** The Tiny-ImageNet folder (may be read-only). */
  root: string
  /** Writable folder that receives `<wnid>/images/<file>`. */
  out: string
  /** 'auto' (default): hard links where the file system allows, copies otherwise. */
  mode?: 'auto' | 'link' | 'copy'
}

export interface PrepareValResult {
  out: string
  linked: number
  copied: number
  /** Already in place from an earlier run (same size): left alone. */
  existing: number
}

/**
 * Materialises Tiny-ImageNet's val split in ImageFolder layout (`<out>/<wnid>/images/val_N.JPEG`, labels from
 * `val/val_annotations.txt`) for tools that need one folder per class. Idempotent: files already in place are kept,
 * each new file appears under its final name only once complete (link or copy to a temporary name, then rename).
 * The loaders in this package do not need it: `readSplit(root, 'val')` labels val in place.
 *
 * @example
 * ```ts
 * await prepareVal({ root: '/data/tiny-imagenet-200', out: './data/tiny-imagenet-200-val' })
 * // then: ImageFolder('./data/tiny-imagenet-200-val') in PyTorch, or readSplit-free tools
 * ```
 */
export async function prepareVal(options: PrepareValOptions): Promise<PrepareValResult> {
  const { samples } = readSplit(options.root, 'val', options)
  const out = path.resolve(options.out)
  const mode = options.mode ?? 'auto'
  const result: PrepareValResult = { out, linked: 0, copied: 0, existing: 0 }
  let canLink = mode !== 'copy'
  for (const s of samples) {
    const dir = path.join(out, s.wnid as string, 'images')
    const dest = path.join(dir, path.basename(s.path))
    if (existsSync(dest) && statSync(dest).size === statSync(s.path).size) {
      result.existing++
      continue
    }
    mkdirSync(dir, { recursive: true })
    const tmp = `${dest}.tmp-${process.pid}`
    if (existsSync(tmp)) unlinkSync(tmp)
    let linked = false
    if (canLink) {
      try {
        linkSync(s.path, tmp)
        linked = true
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        // EXDEV: other file system; EPERM/EACCES: links to files we do not own are refused (protected_hardlinks).
        if (mode === 'link' || !['EXDEV', 'EPERM', 'EACCES', 'EMLINK', 'ENOTSUP', 'ENOSYS'].includes(code ?? '')) {
          throw new Error(`${s.path}: cannot hard-link into ${dir} (${code ?? (e as Error).message})`)
        }
        canLink = false
      }
    }
    if (!linked) copyFileSync(s.path, tmp)
    renameSync(tmp, dest)
    if (linked) result.linked++
    else result.copied++
  }
  return result
}
