import { readFileSync } from 'node:fs'
import { transformImage } from './augment'
import type { TransformOptions } from './augment'
import { decodeJpeg, decodeJpegRgba } from './jpeg'
import { rngFor } from './random'

/**
 * Where the pixels of sample i come from: its JPEG file, or a decoded uint8 cache (`pixels` holds count*h*w*3 bytes,
 * usually a SharedArrayBuffer that every worker reads without copying).
 */
export type ImageSource =
  | { kind: 'files'; paths: string[] }
  | { kind: 'cache'; pixels: Uint8Array; height: number; width: number }

/** What a worker (or the main thread) needs once: the source, the labels, and how to transform. */
export interface JobContext {
  source: ImageSource
  /** Shared output ring (see loader.ts): slot k is floats [k * slotFloats, (k + 1) * slotFloats). */
  ring?: { buffer: Float32Array; slotFloats: number }
  labels: Int32Array
  transform: TransformOptions
  seed: number
  skipBad: boolean
}

export interface BatchResult {
  /** [n, size, size, 3] normalised, n = indices.length - skipped.length */
  x: Float32Array
  y: Int32Array
  skipped: { file: string; reason: string }[]
}

/**
 * Decodes/augments the samples `indices` of `epoch` into one NHWC float32 block: `out` when given (a slot of the
 * loader's shared ring, at least indices.length * size * size * 3 long), else a new array.
 */
export function runBatch(ctx: JobContext, indices: Int32Array, epoch: number, out?: Float32Array): BatchResult {
  const size = ctx.transform.size ?? 64
  const per = size * size * 3
  const x = out ? out.subarray(0, indices.length * per) : new Float32Array(indices.length * per)
  const y = new Int32Array(indices.length)
  const skipped: BatchResult['skipped'] = []
  let n = 0
  for (const index of indices) {
    const rand = rngFor(ctx.seed, epoch, index)
    if (ctx.source.kind === 'cache') {
      const { pixels, height, width } = ctx.source
      const bytes = height * width * 3
      transformImage(pixels.subarray(index * bytes, (index + 1) * bytes), height, width, x, n * per, rand, ctx.transform)
    } else {
      const file = ctx.source.paths[index] as string
      let img
      try {
        img = decodeJpegRgba(readFileSync(file), file)
      } catch (e) {
        if (!ctx.skipBad) throw e
        skipped.push({ file, reason: (e as Error).message })
        continue
      }
      transformImage(img.data, img.height, img.width, x, n * per, rand, ctx.transform, 4)
    }
    y[n] = ctx.labels[index] as number
    n++
  }
  if (n === indices.length) return { x, y, skipped }
  return { x: out ? x.subarray(0, n * per) : x.slice(0, n * per), y: y.slice(0, n), skipped }
}

/** Decodes samples `indices` to raw uint8 HWC pixels of `height`x`width` (for building the cache). */
export function runDecode(paths: string[], indices: Int32Array, height: number, width: number, skipBad: boolean): { pixels: Uint8Array; ok: Uint8Array; skipped: BatchResult['skipped'] } {
  const bytes = height * width * 3
  const pixels = new Uint8Array(indices.length * bytes)
  const ok = new Uint8Array(indices.length)
  const skipped: BatchResult['skipped'] = []
  indices.forEach((index, k) => {
    const file = paths[index] as string
    try {
      const img = decodeJpeg(readFileSync(file), file)
      if (img.height !== height || img.width !== width) throw new Error(`${file}: ${img.width}x${img.height} image, the cache holds ${width}x${height}`)
      pixels.set(img.data, k * bytes)
      ok[k] = 1
    } catch (e) {
      if (!skipBad) throw e
      skipped.push({ file, reason: (e as Error).message })
    }
  })
  return { pixels, ok, skipped }
}
