/** Python's `'{:,}'.format(n)` for integers: 1234567 -> '1,234,567' (no locale lookup, unlike toLocaleString). */
export function formatThousands(n: number): string {
  if (!Number.isInteger(n)) throw new Error(`formatThousands: expected an integer, got ${n}`)
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return n < 0 ? `-${digits}` : digits
}

/**
 * Python's `'%0.2f' % x`. Both languages round the exact binary value, but on an exact tie (0.125) JS's toFixed
 * rounds up and Python rounds half to even; sizes like k/2^20 MiB can hit such ties.
 */
export function formatFixed2(x: number): string {
  // toFixed(100) is exact for these binary fractions: digits past the 2nd decimal of exactly "5000…" mean a tie
  const exact = Math.abs(x).toFixed(100)
  const dot = exact.indexOf('.')
  const tail = exact.slice(dot + 3)
  if (/^50*$/.test(tail)) {
    const lastKept = Number(exact[dot + 2])
    const down = x < 0 ? -Number(exact.slice(0, dot + 3)) : Number(exact.slice(0, dot + 3))
    if (lastKept % 2 === 0) return down.toFixed(2)
  }
  return x.toFixed(2)
}
