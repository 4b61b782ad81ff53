import { randInt } from './random'

/** torchvision.transforms.Normalize values for ImageNet-trained models (imagenet/main.py). */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406]
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225]

export type Augment = 'none' | 'random-crop' | 'random-resized-crop'

export interface TransformOptions {
  /** Output side in pixels. Default 64 (Tiny-ImageNet's native size). */
  size?: number
  /**
   * 'none': resize to `size` (a copy for 64x64 inputs). 'random-crop': RandomCrop(size, padding) with zero padding
   * (the CIFAR recipe). 'random-resized-crop': RandomResizedCrop(size, scale, ratio), the imagenet/main.py recipe.
   */
  augment?: Augment
  /** RandomHorizontalFlip(p=0.5). Default false. */
  flip?: boolean
  /** Zero padding on each side for 'random-crop'. Default 4. */
  padding?: number
  /** RandomResizedCrop area fraction range. Default [0.08, 1]. */
  scale?: [number, number]
  /** RandomResizedCrop aspect ratio range. Default [3/4, 4/3]. */
  ratio?: [number, number]
  mean?: [number, number, number]
  std?: [number, number, number]
}

/** Crop window in source pixels: top, left, height, width. */
export interface CropWindow {
  top: number
  left: number
  height: number
  width: number
}

/**
 * `RandomResizedCrop.get_params` (torchvision/transforms/transforms.py): up to 10 tries of a random area in `scale`
 * and log-uniform aspect ratio in `ratio`; when none fits, the largest centred crop whose ratio is within bounds.
 */
export function randomResizedCropParams(height: number, width: number, rand: () => number, scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3]): CropWindow {
  const area = height * width
  const logLo = Math.log(ratio[0])
  const logHi = Math.log(ratio[1])
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + rand() * (scale[1] - scale[0]))
    const aspect = Math.exp(logLo + rand() * (logHi - logLo))
    const w = Math.round(Math.sqrt(targetArea * aspect))
    const h = Math.round(Math.sqrt(targetArea / aspect))
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: randInt(rand, 0, height - h + 1), left: randInt(rand, 0, width - w + 1), height: h, width: w }
    }
  }
  const inRatio = width / height
  let w = width
  let h = height
  if (inRatio < Math.min(...ratio)) h = Math.round(w / Math.min(...ratio))
  else if (inRatio > Math.max(...ratio)) w = Math.round(h * Math.max(...ratio))
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w }
}

/** Multiply-add constants of (v / 255 - mean) / std per channel. */
function normaliser(options: TransformOptions): [number, number, number, number, number, number] {
  const mean = options.mean ?? IMAGENET_MEAN
  const std = options.std ?? IMAGENET_STD
  return [1 / (255 * std[0]), 1 / (255 * std[1]), 1 / (255 * std[2]), -mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2]]
}

/**
 * Transforms one uint8 HWC image and writes it, normalised ((v/255 - mean) / std), as float32 RGB HWC into `out`
 * at `offset` (size*size*3 values). `rand` is the sample's own stream (see `rngFor`). `srcChannels` is 3 for RGB or
 * 4 for RGBA input (the decoder's native output; alpha is ignored).
 * Resizing is bilinear without antialiasing: exact for the upsampling that 64x64 inputs need, approximate when an
 * image larger than `size` is shrunk.
 *
 * @example
 * ```ts
 * const out = new Float32Array(64 * 64 * 3)
 * transformImage(img.data, 64, 64, out, 0, rngFor(seed, epoch, index), { augment: 'random-resized-crop', flip: true })
 * ```
 */
export function transformImage(src: Uint8Array, height: number, width: number, out: Float32Array, offset: number, rand: () => number, options: TransformOptions = {}, srcChannels: 3 | 4 = 3): void {
  const size = options.size ?? 64
  const augment = options.augment ?? 'none'
  if (augment === 'random-crop') {
    const [mul0, mul1, mul2, add0, add1, add2] = normaliser(options)
    const pad = options.padding ?? 4
    // torchvision RandomCrop(size, padding): pad with fill 0, then i = randint(0, H + 2p - size + 1).
    const top = randInt(rand, 0, height + 2 * pad - size + 1) - pad
    const left = randInt(rand, 0, width + 2 * pad - size + 1) - pad
    const flip = options.flip === true && rand() < 0.5
    for (let y = 0; y < size; y++) {
      const sy = top + y
      const rowOut = offset + y * size * 3
      for (let x = 0; x < size; x++) {
        const sx = left + (flip ? size - 1 - x : x)
        const o = rowOut + x * 3
        if (sy < 0 || sy >= height || sx < 0 || sx >= width) {
          out[o] = add0
          out[o + 1] = add1
          out[o + 2] = add2
        } else {
          const s = (sy * width + sx) * srcChannels
          out[o] = (src[s] as number) * mul0 + add0
          out[o + 1] = (src[s + 1] as number) * mul1 + add1
          out[o + 2] = (src[s + 2] as number) * mul2 + add2
        }
      }
    }
    return
  }
  const win: CropWindow = augment === 'random-resized-crop' ? randomResizedCropParams(height, width, rand, options.scale, options.ratio) : { top: 0, left: 0, height, width }
  const flip = options.flip === true && rand() < 0.5
  resizedCrop(src, height, width, win, flip, out, offset, options, srcChannels)
}

interface Taps {
  i0: Int32Array
  i1: Int32Array
  f: Float32Array
}
const newTaps = (size: number): Taps => ({ i0: new Int32Array(size), i1: new Int32Array(size), f: new Float32Array(size) })
// Reused for every image (one pair per thread): per-image typed arrays made the garbage collector a fifth of the cost.
let tapsY = newTaps(64)
let tapsX = newTaps(64)

/** Per-axis bilinear taps with half-pixel centres, clamped to the crop (PIL crop-then-resize upsampling). */
function fillTaps(t: Taps, start: number, length: number, size: number, flip: boolean): Taps {
  const scale = length / size
  for (let k = 0; k < size; k++) {
    const o = flip ? size - 1 - k : k
    const src = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), length - 1)
    const lo = Math.floor(src)
    t.i0[k] = start + lo
    t.i1[k] = start + Math.min(lo + 1, length - 1)
    t.f[k] = src - lo
  }
  return t
}

/** Horizontally resized rows, reused across calls (one per thread): [source row][size][3]. */
let rowScratch = new Float32Array(0)
let rowStamp = new Int32Array(0)

/**
 * torchvision `F.resized_crop(img, top, left, height, width, [size, size])` (+ optional horizontal flip), bilinear,
 * written normalised into `out` at `offset`. Separable: each needed source row is resized horizontally once, then
 * output rows blend two of those, which halves the arithmetic of the direct 4-tap form.
 */
export function resizedCrop(src: Uint8Array, height: number, width: number, win: CropWindow, flip: boolean, out: Float32Array, offset: number, options: TransformOptions = {}, srcChannels: 3 | 4 = 3): void {
  const size = options.size ?? 64
  const [mul0, mul1, mul2, add0, add1, add2] = normaliser(options)
  const ch = srcChannels
  if (win.height === size && win.width === size) {
    for (let y = 0; y < size; y++) {
      const rowOut = offset + y * size * 3
      const rowIn = (win.top + y) * width + win.left
      for (let x = 0; x < size; x++) {
        const o = rowOut + x * 3
        const s = (rowIn + (flip ? size - 1 - x : x)) * ch
        out[o] = (src[s] as number) * mul0 + add0
        out[o + 1] = (src[s + 1] as number) * mul1 + add1
        out[o + 2] = (src[s + 2] as number) * mul2 + add2
      }
    }
    return
  }
  if (tapsY.f.length !== size) {
    tapsY = newTaps(size)
    tapsX = newTaps(size)
  }
  const ty = fillTaps(tapsY, win.top, win.height, size, false)
  const tx = fillTaps(tapsX, win.left, win.width, size, flip)
  const rowLen = size * 3
  if (rowScratch.length < height * rowLen) rowScratch = new Float32Array(height * rowLen)
  const rows = rowScratch
  const stamp = rowStamp.length >= height ? rowStamp : (rowStamp = new Int32Array(height))
  stamp.fill(0)
  const hRow = (r: number): number => {
    const base = r * rowLen
    if (stamp[r] === 1) return base
    stamp[r] = 1
    const inRow = r * width
    for (let x = 0; x < size; x++) {
      const a = (inRow + (tx.i0[x] as number)) * ch
      const b = (inRow + (tx.i1[x] as number)) * ch
      const fx = tx.f[x] as number
      const o = base + x * 3
      const a0 = src[a] as number
      const a1 = src[a + 1] as number
      const a2 = src[a + 2] as number
      rows[o] = a0 + ((src[b] as number) - a0) * fx
      rows[o + 1] = a1 + ((src[b + 1] as number) - a1) * fx
      rows[o + 2] = a2 + ((src[b + 2] as number) - a2) * fx
    }
    return base
  }
  for (let y = 0; y < size; y++) {
    const p = hRow(ty.i0[y] as number)
    const q = hRow(ty.i1[y] as number)
    const fy = ty.f[y] as number
    const rowOut = offset + y * rowLen
    for (let k = 0; k < rowLen; k += 3) {
      const o = rowOut + k
      const p0 = rows[p + k] as number
      const p1 = rows[p + k + 1] as number
      const p2 = rows[p + k + 2] as number
      out[o] = (p0 + ((rows[q + k] as number) - p0) * fy) * mul0 + add0
      out[o + 1] = (p1 + ((rows[q + k + 1] as number) - p1) * fy) * mul1 + add1
      out[o + 2] = (p2 + ((rows[q + k + 2] as number) - p2) * fy) * mul2 + add2
    }
  }
}
