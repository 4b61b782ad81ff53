/** A line chart to draw: several named series of (x, y) points. */
export interface ChartSpec {
  series: readonly { name: string; points: readonly { x: number; y: number }[]; color?: string }[]
  title?: string
  xLabel?: string
  yLabel?: string
  width?: number
  height?: number
}

/** matplotlib's tab10 palette, so our curves look like the reference's TensorBoard/matplotlib screenshots. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'] as const

export interface ChartLayout {
  width: number
  height: number
  plot: { left: number; top: number; right: number; bottom: number }
  xTicks: number[]
  yTicks: number[]
  sx: (x: number) => number
  sy: (y: number) => number
  colors: string[]
  formatTick: (v: number, ticks: readonly number[]) => string
}

/** "Nice" tick values (1, 2, 5 × 10^k) covering [min, max] with about `count` ticks. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1]
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1
    return niceTicks(min - pad, max + pad, count)
  }
  // Of the 1-2-2.5-5 steps around the raw step, take the one whose tick count is closest to `count` (larger on ties).
  const raw = (max - min) / Math.max(count - 1, 1)
  const mag = 10 ** Math.floor(Math.log10(raw))
  let best: number[] = []
  for (const m of [0.5, 1, 2, 2.5, 5, 10, 20]) {
    const step = m * mag
    const start = Math.floor(min / step + 1e-9) * step
    const ticks: number[] = []
    for (let k = 0; start + (k - 1) * step < max - step * 1e-9; k++) ticks.push(Number((start + k * step).toPrecision(12)))
    if (best.length === 0 || Math.abs(ticks.length - count) <= Math.abs(best.length - count)) best = ticks
  }
  return best
}

function formatTick(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs((ticks[1] as number) - (ticks[0] as number)) : 1
  const big = Math.max(...ticks.map(Math.abs))
  if (big >= 1e5 || (big > 0 && big < 1e-3)) return v.toExponential(1)
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
  return v.toFixed(decimals)
}

/** Shared geometry of the SVG and PNG renderers. */
export function layoutChart(spec: ChartSpec): ChartLayout {
  const width = spec.width ?? 800
  const height = spec.height ?? 500
  const points = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
  if (points.length === 0) throw new Error('chart: no finite points to plot')
  const xs = points.map((p) => p.x)
  const ys = points.map((p) => p.y)
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs))
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys))
  const plot = { left: 70, top: spec.title ? 40 : 20, right: width - 20, bottom: height - (spec.xLabel ? 55 : 40) }
  const x0 = xTicks[0] as number
  const x1 = xTicks[xTicks.length - 1] as number
  const y0 = yTicks[0] as number
  const y1 = yTicks[yTicks.length - 1] as number
  return {
    width,
    height,
    plot,
    xTicks,
    yTicks,
    sx: (x) => plot.left + ((x - x0) / (x1 - x0 || 1)) * (plot.right - plot.left),
    sy: (y) => plot.bottom - ((y - y0) / (y1 - y0 || 1)) * (plot.bottom - plot.top),
    colors: spec.series.map((s, i) => s.color ?? (PALETTE[i % PALETTE.length] as string)),
    formatTick,
  }
}
