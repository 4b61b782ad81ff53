import { type ChartSpec, layoutChart } from './chart-layout'

const esc = (s: string) => s.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;').replace(/"/gu, '&quot;')

/**
 * A line chart as a standalone SVG document (axes, ticks, grid, legend, title): the report's "screenshot".
 *
 * @example
 * const svg = lineChartSvg({ title: 'loss', series: [{ name: 'train', points: [{ x: 0, y: 5.3 }, { x: 1, y: 4.1 }] }] })
 * writeFileSync('loss.svg', svg)
 */
export function lineChartSvg(spec: ChartSpec): string {
  const L = layoutChart(spec)
  const { plot } = L
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ]
  for (const t of L.yTicks) {
    const y = L.sy(t).toFixed(1)
    out.push(`<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${plot.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#333">${esc(L.formatTick(t, L.yTicks))}</text>`)
  }
  for (const t of L.xTicks) {
    const x = L.sx(t).toFixed(1)
    out.push(`<line x1="${x}" y1="${plot.top}" x2="${x}" y2="${plot.bottom}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${x}" y="${plot.bottom + 16}" text-anchor="middle" fill="#333">${esc(L.formatTick(t, L.xTicks))}</text>`)
  }
  out.push(`<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#333"/>`)
  spec.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y)).map((p) => `${L.sx(p.x).toFixed(2)},${L.sy(p.y).toFixed(2)}`)
    out.push(`<polyline fill="none" stroke="${L.colors[i]}" stroke-width="2" points="${pts.join(' ')}"/>`)
  })
  if (spec.title) out.push(`<text x="${L.width / 2}" y="24" text-anchor="middle" font-size="15" fill="#111">${esc(spec.title)}</text>`)
  if (spec.xLabel) out.push(`<text x="${(plot.left + plot.right) / 2}" y="${L.height - 12}" text-anchor="middle" fill="#111">${esc(spec.xLabel)}</text>`)
  if (spec.yLabel)
    out.push(`<text transform="translate(16 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#111">${esc(spec.yLabel)}</text>`)
  spec.series.forEach((s, i) => {
    const y = plot.top + 16 + i * 18
    out.push(`<line x1="${plot.right - 150}" y1="${y}" x2="${plot.right - 126}" y2="${y}" stroke="${L.colors[i]}" stroke-width="3"/>`)
    out.push(`<text x="${plot.right - 120}" y="${y}" dominant-baseline="middle" fill="#111">${esc(s.name)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
