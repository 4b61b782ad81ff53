import { GLYPHS, GLYPH_HEIGHT, GLYPH_WIDTH } from './_bitmap-font'
import { PNG } from 'pngjs'
import { type ChartSpec, layoutChart } from './chart-layout'

type RGB = [number, number, number]

function parseColor(hex: string): RGB {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/iu.exec(hex)
  if (!m) throw new Error(`chart: colour '${hex}' is not #rrggbb`)
  return [Number.parseInt(m[1] as string, 16), Number.parseInt(m[2] as string, 16), Number.parseInt(m[3] as string, 16)]
}

/** An RGBA raster with just the primitives a line chart needs. */
class Raster {
  readonly data: Uint8Array
  constructor(readonly width: number, readonly height: number) {
    this.data = new Uint8Array(width * height * 4).fill(255)
  }

  blend(x: number, y: number, [r, g, b]: RGB, alpha = 1): void {
    x = Math.round(x)
    y = Math.round(y)
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return
    const i = (y * this.width + x) * 4
    const d = this.data
    d[i] = Math.round((d[i] as number) * (1 - alpha) + r * alpha)
    d[i + 1] = Math.round((d[i + 1] as number) * (1 - alpha) + g * alpha)
    d[i + 2] = Math.round((d[i + 2] as number) * (1 - alpha) + b * alpha)
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    for (let y = Math.round(y0); y <= Math.round(y1); y++) for (let x = Math.round(x0); x <= Math.round(x1); x++) this.blend(x, y, c)
  }

  /** A line of `width` px: coverage-sampled disc stamps along the segment (cheap anti-aliasing). */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, width = 1): void {
    const len = Math.hypot(x1 - x0, y1 - y0)
    const steps = Math.max(1, Math.ceil(len * 2))
    const r = width / 2
    const seen = new Map<number, number>()
    for (let s = 0; s <= steps; s++) {
      const cx = x0 + ((x1 - x0) * s) / steps
      const cy = y0 + ((y1 - y0) * s) / steps
      for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
        for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
          const cover = Math.min(1, Math.max(0, r + 0.5 - Math.hypot(x - cx, y - cy)))
          const key = y * this.width + x
          if (cover > (seen.get(key) ?? 0)) seen.set(key, cover)
        }
      }
    }
    for (const [key, cover] of seen) this.blend(key % this.width, Math.floor(key / this.width), c, cover)
  }

  text(s: string, x: number, y: number, c: RGB, align: 'left' | 'center' | 'right' = 'left', vertical = false): void {
    const w = s.length * GLYPH_WIDTH
    const start = align === 'left' ? 0 : align === 'center' ? -w / 2 : -w
    for (let i = 0; i < s.length; i++) {
      const code = s.charCodeAt(i)
      const glyph = GLYPHS[code >= 32 && code <= 126 ? code - 32 : 31] ?? ''
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        const bits = Number.parseInt(glyph.slice(row * 3, row * 3 + 3), 16)
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (!(bits & (1 << (GLYPH_WIDTH - 1 - col)))) continue
          const gx = start + i * GLYPH_WIDTH + col
          const gy = row - GLYPH_HEIGHT / 2
          if (vertical) this.blend(x + gy, y - gx, c)
          else this.blend(x + gx, y + gy, c)
        }
      }
    }
  }
}

/**
 * Renders a line chart to PNG bytes in pure JS (no browser, no native module, no system fonts: text uses a built-in
 * bitmap font, so ASCII only).
 *
 * @example
 * const png = lineChartPng({ title: 'accuracy', series: [{ name: 'val_acc', points: [{ x: 0, y: 1.5 }, { x: 1, y: 9.8 }] }] })
 * writeFileSync('acc.png', png)
 */
export function lineChartPng(spec: ChartSpec): Buffer {
  const L = layoutChart(spec)
  const { plot } = L
  const img = new Raster(L.width, L.height)
  const grid: RGB = [229, 229, 229]
  const ink: RGB = [51, 51, 51]
  for (const t of L.yTicks) {
    img.rect(plot.left, L.sy(t), plot.right, L.sy(t), grid)
    img.text(L.formatTick(t, L.yTicks), plot.left - 6, L.sy(t), ink, 'right')
  }
  for (const t of L.xTicks) {
    img.rect(L.sx(t), plot.top, L.sx(t), plot.bottom, grid)
    img.text(L.formatTick(t, L.xTicks), L.sx(t), plot.bottom + 14, ink, 'center')
  }
  img.rect(plot.left, plot.top, plot.right, plot.top, ink)
  img.rect(plot.left, plot.bottom, plot.right, plot.bottom, ink)
  img.rect(plot.left, plot.top, plot.left, plot.bottom, ink)
  img.rect(plot.right, plot.top, plot.right, plot.bottom, ink)
  spec.series.forEach((s, i) => {
    const color = parseColor(L.colors[i] as string)
    const pts = s.points.filter((p) => Number.isFinite(p.y))
    if (pts.length === 1) img.line(L.sx(pts[0]?.x ?? 0), L.sy(pts[0]?.y ?? 0), L.sx(pts[0]?.x ?? 0), L.sy(pts[0]?.y ?? 0), color, 4)
    for (let k = 1; k < pts.length; k++) {
      const a = pts[k - 1] as { x: number; y: number }
      const b = pts[k] as { x: number; y: number }
      img.line(L.sx(a.x), L.sy(a.y), L.sx(b.x), L.sy(b.y), color, 2)
    }
  })
  if (spec.title) img.text(spec.title, L.width / 2, 22, [17, 17, 17], 'center')
  if (spec.xLabel) img.text(spec.xLabel, (plot.left + plot.right) / 2, L.height - 14, [17, 17, 17], 'center')
  if (spec.yLabel) img.text(spec.yLabel, 16, (plot.top + plot.bottom) / 2, [17, 17, 17], 'center', true)
  spec.series.forEach((s, i) => {
    const y = plot.top + 16 + i * 18
    const legendColor = parseColor(L.colors[i] as string)
    img.rect(plot.right - 150, y - 1, plot.right - 126, y + 1, legendColor)
    img.text(s.name, plot.right - 120, y, [17, 17, 17])
  })
  const png = new PNG({ width: L.width, height: L.height, colorType: 6 })
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength)
  return PNG.sync.write(png, { colorType: 6, deflateLevel: 9 })
}
