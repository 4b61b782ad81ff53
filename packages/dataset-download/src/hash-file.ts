import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

/**
 * Hex sha256 and md5 of a whole file, read as a stream in one pass (archives of hundreds of MB never sit in memory).
 *
 * @example
 * ```ts
 * const { sha256, md5 } = await hashFile('./data/tiny-imagenet-200.zip')
 * ```
 */
export async function hashFile(file: string): Promise<{ sha256: string; md5: string }> {
  const sha = createHash('sha256')
  const md5 = createHash('md5')
  for await (const chunk of createReadStream(file)) {
    sha.update(chunk as Buffer)
    md5.update(chunk as Buffer)
  }
  return { sha256: sha.digest('hex'), md5: md5.digest('hex') }
}
