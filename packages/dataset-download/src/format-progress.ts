import type { DownloadProgress } from './download-file'

/**
 * One human-readable progress line, `12.3 MB of 248.1 MB (5.0%), 5.2 MB/s, ETA 45 s` (decimal MB like `ls -h --si`;
 * the total, percentage and ETA are left out when the server sent no length).
 *
 * @example
 * ```ts
 * await downloadFile({ url, dest, onProgress: (p) => process.stderr.write(`\r${formatProgress(p)}`) })
 * ```
 */
export function formatProgress(p: DownloadProgress): string {
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`
  const of = p.totalBytes !== undefined ? ` of ${mb(p.totalBytes)} (${((100 * p.receivedBytes) / p.totalBytes).toFixed(1)}%)` : ''
  const eta = p.etaSeconds !== undefined ? `, ETA ${Math.ceil(p.etaSeconds)} s` : ''
  return `${mb(p.receivedBytes)}${of}, ${mb(p.bytesPerSecond)}/s${eta}`
}
