import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root, from this file's place in it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/** Real data lives beside the checkout, never in it (see ../shared/data/PROVENANCE.txt). */
export const SHARED_DATA = process.env.TINYLAB_SHARED_DATA ?? path.resolve(REPO_ROOT, '../shared/data')
