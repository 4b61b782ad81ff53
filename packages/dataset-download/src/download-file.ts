import { createWriteStream, existsSync, renameSync, statSync, unlinkSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { hashFile } from './hash-file'

/** One progress report: bytes so far (resumed bytes included), total when the server says, rate over this session. */
export interface DownloadProgress {
  url: string
  receivedBytes: number
  totalBytes: number | undefined
  bytesPerSecond: number
  etaSeconds: number | undefined
}

/** What a finished file must match; all fields optional (checked when given). */
export interface ExpectedFile {
  sizeBytes?: number
  sha256?: string
  md5?: string
}

export interface DownloadFileOptions extends ExpectedFile {
  url: string
  /** Final path; bytes arrive in `<dest>.part` first, so a crash never leaves a complete-looking file. */
  dest: string
  /** Times a dropped connection is retried (each retry resumes with an HTTP Range request). Default 5. */
  retries?: number
  onProgress?: (p: DownloadProgress) => void
  /** Minimum milliseconds between two progress reports. Default 500. */
  progressIntervalMs?: number
}

export interface DownloadFileResult {
  path: string
  sizeBytes: number
  sha256: string
  /** How many requests resumed a partial file (0 for a clean single download). */
  resumed: number
  /** True when `dest` already existed and matched the expectations: nothing was fetched. */
  cached: boolean
}

interface Response {
  status: number
  headers: http.IncomingHttpHeaders
  stream: http.IncomingMessage
}

function request(url: string, headers: Record<string, string>, redirectsLeft = 5): Promise<Response> {
  const lib = url.startsWith('https:') ? https : url.startsWith('http:') ? http : undefined
  if (!lib) return Promise.reject(new Error(`unsupported URL scheme (http/https only): ${url}`))
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { headers }, (res) => {
      const status = res.statusCode ?? 0
      const location = res.headers.location
      if (status >= 300 && status < 400 && location) {
        res.resume()
        if (redirectsLeft <= 0) return reject(new Error(`too many redirects fetching ${url}`))
        resolve(request(new URL(location, url).toString(), headers, redirectsLeft - 1))
        return
      }
      resolve({ status, headers: res.headers, stream: res })
    })
    req.on('error', reject)
    req.setTimeout(60_000, () => req.destroy(new Error(`no data for 60 s from ${url}`)))
  })
}

function fileSize(p: string): number {
  return existsSync(p) ? statSync(p).size : 0
}

function mismatch(file: string, expected: ExpectedFile, size: number, digests: { sha256: string; md5: string }): string | undefined {
  if (expected.sizeBytes !== undefined && size !== expected.sizeBytes) return `${file}: size ${size} bytes, expected ${expected.sizeBytes}`
  if (expected.sha256 && digests.sha256 !== expected.sha256.toLowerCase()) return `${file}: sha256 ${digests.sha256}, expected ${expected.sha256}`
  if (expected.md5 && digests.md5 !== expected.md5.toLowerCase()) return `${file}: md5 ${digests.md5}, expected ${expected.md5}`
  return undefined
}

/** `bytes 100-199/1000` -> { start: 100, total: 1000 } */
function parseContentRange(value: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(value ?? '')
  if (!m) return undefined
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) }
}

/**
 * Downloads `url` to `dest`, resuming an interrupted transfer (from an earlier run or a dropped connection) with an HTTP
 * Range request, reporting progress, and checking size/sha256/md5 before the file gets its final name.
 *
 * @example
 * ```ts
 * await downloadFile({ url: 'http://127.0.0.1:8080/x.zip', dest: '/tmp/x.zip', onProgress: (p) => console.log(p.receivedBytes) })
 * ```
 */
export async function downloadFile(options: DownloadFileOptions): Promise<DownloadFileResult> {
  const { url, dest } = options
  const part = `${dest}.part`
  await mkdir(path.dirname(path.resolve(dest)), { recursive: true })
  if (existsSync(dest)) {
    const digests = await hashFile(dest)
    const problem = mismatch(dest, options, statSync(dest).size, digests)
    if (!problem) return { path: dest, sizeBytes: statSync(dest).size, sha256: digests.sha256, resumed: 0, cached: true }
    throw new Error(`${problem} (remove it to download again)`)
  }
  const retries = options.retries ?? 5
  const interval = options.progressIntervalMs ?? 500
  let resumed = 0
  let total: number | undefined = options.sizeBytes
  let lastError: unknown
  const sessionStart = Date.now()
  let sessionBytes = 0
  for (let attempt = 0; attempt <= retries; attempt++) {
    const have = fileSize(part)
    if (total !== undefined && have === total) break
    if (total !== undefined && have > total) unlinkSync(part)
    const start = fileSize(part)
    try {
      const res = await request(url, start > 0 ? { Range: `bytes=${start}-` } : {})
      let append = false
      if (res.status === 206) {
        const range = parseContentRange(res.headers['content-range'])
        if (!range || range.start !== start) {
          res.stream.resume()
          throw new Error(`server answered Range bytes=${start}- with Content-Range ${res.headers['content-range'] ?? '(none)'}`)
        }
        total = range.total ?? total
        append = true
        resumed++
      } else if (res.status === 200) {
        const length = Number(res.headers['content-length'])
        if (Number.isFinite(length) && length > 0) total = length
      } else if (res.status === 416 && start > 0) {
        // The part file already holds everything the server has.
        res.stream.resume()
        break
      } else {
        res.stream.resume()
        throw new Error(`HTTP ${res.status} fetching ${url}`)
      }
      if (options.sizeBytes !== undefined && total !== undefined && total !== options.sizeBytes) {
        res.stream.resume()
        throw new Error(`${url}: server reports ${total} bytes, expected ${options.sizeBytes}`)
      }
      await new Promise<void>((resolve, reject) => {
        const out = createWriteStream(part, { flags: append ? 'a' : 'w' })
        let received = append ? start : 0
        let lastReport = 0
        res.stream.on('data', (chunk: Buffer) => {
          received += chunk.length
          sessionBytes += chunk.length
          const now = Date.now()
          if (options.onProgress && now - lastReport >= interval) {
            lastReport = now
            const rate = sessionBytes / Math.max((now - sessionStart) / 1000, 1e-3)
            const eta = total !== undefined && rate > 0 ? (total - received) / rate : undefined
            options.onProgress({ url, receivedBytes: received, totalBytes: total, bytesPerSecond: rate, etaSeconds: eta })
          }
        })
        res.stream.on('aborted', () => res.stream.destroy(new Error(`connection to ${url} dropped`)))
        res.stream.on('error', (e) => {
          out.end(() => reject(e))
        })
        out.on('error', reject)
        res.stream.pipe(out)
        out.on('finish', () => {
          if (res.stream.errored || !res.stream.complete) reject(new Error(`connection to ${url} dropped after ${received} bytes`))
          else resolve()
        })
      })
      lastError = undefined
      if (total === undefined || fileSize(part) >= total) break
      lastError = new Error(`connection to ${url} ended at ${fileSize(part)} of ${total} bytes`)
    } catch (e) {
      lastError = e
    }
  }
  if (lastError) throw new Error(`download of ${url} failed after ${retries + 1} attempts (partial file kept at ${part}, run again to resume): ${(lastError as Error).message}`)
  const size = fileSize(part)
  const digests = await hashFile(part)
  const problem = mismatch(part, { ...options, sizeBytes: options.sizeBytes ?? total }, size, digests)
  if (problem) {
    unlinkSync(part)
    throw new Error(`${problem}; the partial file was removed`)
  }
  if (options.onProgress) {
    const secs = Math.max((Date.now() - sessionStart) / 1000, 1e-3)
    options.onProgress({ url, receivedBytes: size, totalBytes: size, bytesPerSecond: sessionBytes / secs, etaSeconds: 0 })
  }
  renameSync(part, dest)
  return { path: dest, sizeBytes: size, sha256: digests.sha256, resumed, cached: false }
}
