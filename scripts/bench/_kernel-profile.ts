// A profiled compiled step (GPU time per dispatch) as a Markdown table by program, with the TFLOP/s of the kernels
// whose work is known from their shapes: convolutions (forward, input and filter gradients) and matrix products.
import type { DispatchTime } from '@tinylab/webgpu-backend'

const size = (shape: number[] | undefined): number => (shape ?? []).reduce((a, b) => a * b, 1)

/**
 * Multiply-adds ×2 of one dispatch, from its shapes (output first), or undefined for kernels that are not a product.
 * Bundlers may suffix class names (`Conv2DMMProgram2`), hence the patterns.
 */
export function flopsOf(d: DispatchTime): number | undefined {
  const [out, a, b] = d.shapes ?? []
  if (out === undefined || a === undefined || b === undefined) return undefined
  // y = conv(x, w), w [KH, KW, Cin, Cout]: each of y's elements is KH·KW·Cin = |w|/Cout multiply-adds.
  if (/^Conv2DMMProgram\d*$/.test(d.program)) return (2 * size(out) * size(b)) / (out[3] as number)
  // dx = conv_transpose(dy, w): the forward's work, with dy in place of y.
  if (/^Conv2DDerInput(MM)?Program\d*$/.test(d.program)) return (2 * size(a) * size(b)) / (a[3] as number)
  // dW from x and dy: each of dy's elements meets KH·KW·Cin weights. Split over the reduction, the output is
  // [splits, |dW|] partial sums (added by SumSplitsProgram).
  if (/^ConvFilterGradProgram\d*$/.test(d.program)) return (2 * size(b) * (out.length === 4 ? size(out) : (out.at(-1) as number))) / (b[3] as number)
  if (/MatMul/.test(d.program) && out.length === 3 && a.length === 3 && b.length === 3) {
    // out [B, M, N], a [Ba, M, K] or its transpose, b [Bb, K, N] or its transpose: |a|·|b|/|out| = Ba·Bb·K²/B.
    const batch = out[0] as number
    const k = Math.sqrt((size(a) * size(b) * batch) / (size(out) * (a[0] as number) * (b[0] as number)))
    return 2 * size(out) * Math.round(k)
  }
  return undefined
}

/** One Markdown section: programs by GPU time, their share of the step, and TFLOP/s where the work is known. */
export function kernelTable(title: string, dispatches: DispatchTime[]): string {
  const byProgram = new Map<string, { count: number; ms: number; flops: number | undefined }>()
  let total = 0
  for (const d of dispatches) {
    const row = byProgram.get(d.program) ?? { count: 0, ms: 0, flops: 0 }
    const flops = flopsOf(d)
    row.count++
    row.ms += d.ms
    row.flops = row.flops === undefined || flops === undefined ? undefined : row.flops + flops
    byProgram.set(d.program, row)
    total += d.ms
  }
  const rows = [...byProgram].sort((x, y) => y[1].ms - x[1].ms)
  return [
    `## ${title}`,
    '',
    `${dispatches.length} dispatches, ${total.toFixed(3)} ms of GPU time in all (each dispatch timed in a pass of its own).`,
    '',
    '| program | dispatches | GPU ms | share | GFLOP | TFLOP/s |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(([program, r]) => {
      const gflop = r.flops === undefined || r.flops === 0 ? undefined : r.flops / 1e9
      const tflops = gflop === undefined || r.ms === 0 ? '' : (gflop / r.ms).toPrecision(3)
      return `| ${program} | ${r.count} | ${r.ms.toFixed(3)} | ${((100 * r.ms) / total).toFixed(1)} % | ${gflop === undefined ? '' : gflop.toPrecision(3)} | ${tflops} |`
    }),
    '',
  ].join('\n')
}
