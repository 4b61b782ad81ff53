import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { noteSkip } from './skip'

/** The repository root, from this file's place in it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/** Real data lives beside the checkout, never in it (see ../shared/data/PROVENANCE.txt). */
export const SHARED_DATA = process.env.TINYLAB_SHARED_DATA ?? path.resolve(REPO_ROOT, '../shared/data')

/**
 * The skip reason for a test that reads `SHARED_DATA/<sub>`, or undefined when it is there. CI always has the data
 * beside the checkout, so there a missing folder is a failure, never a silent skip; elsewhere the reason is printed
 * once per file.
 */
export function sharedDataSkipReason(sub: string): string | undefined {
  if (existsSync(path.join(SHARED_DATA, sub))) return undefined
  const message = `real data not found: ${path.join(SHARED_DATA, sub)} (set TINYLAB_SHARED_DATA)`
  if (process.env.CI) throw new Error(message)
  return noteSkip(message)
}
