import { describe, expect, it } from 'vitest'
import { IMAGENET_MEAN, IMAGENET_STD, randomResizedCropParams, transformImage } from './augment'
import { epochOrder, rngFor } from './random'

/** A 64x64 RGB image whose red channel is the column, green the row, blue constant 7. */
function coords(): Uint8Array {
  const img = new Uint8Array(64 * 64 * 3)
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) img.set([x, y, 7], (y * 64 + x) * 3)
  return img
}
const norm = (v: number, c: 0 | 1 | 2): number => (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
const at = (out: Float32Array, y: number, x: number, c: number): number => out[(y * 64 + x) * 3 + c] as number

describe('transformImage', () => {
  it("'none' normalises each channel with the ImageNet mean/std (torchvision ToTensor + Normalize)", () => {
    const out = new Float32Array(64 * 64 * 3)
    transformImage(coords(), 64, 64, out, 0, rngFor(0), { augment: 'none' })
    expect(at(out, 5, 9, 0)).toBeCloseTo(norm(9, 0), 6)
    expect(at(out, 5, 9, 1)).toBeCloseTo(norm(5, 1), 6)
    expect(at(out, 5, 9, 2)).toBeCloseTo(norm(7, 2), 6)
  })

  it("'random-crop' pads with zeros (normalised) and shifts; flip mirrors the crop", () => {
    const out = new Float32Array(64 * 64 * 3)
    // rand() = 0 -> offsets randint(0, 9) = 0 -> the window starts 4 px above/left of the image.
    transformImage(coords(), 64, 64, out, 0, () => 0, { augment: 'random-crop', padding: 4 })
    expect(at(out, 0, 0, 0)).toBeCloseTo(norm(0, 0), 6)
    expect(at(out, 2, 10, 1)).toBeCloseTo(norm(0, 1), 6) // padding row
    expect(at(out, 10, 2, 2)).toBeCloseTo(norm(0, 2), 6) // padding column
    expect(at(out, 10, 20, 0)).toBeCloseTo(norm(16, 0), 6)
    expect(at(out, 10, 20, 1)).toBeCloseTo(norm(6, 1), 6)
    // rand() = 0.99 -> offsets 8 -> the window starts 4 px below/right; then 0.3 < 0.5 -> flip.
    const seq = [0.99, 0.99, 0.3]
    transformImage(coords(), 64, 64, out, 0, () => seq.shift() as number, { augment: 'random-crop', padding: 4, flip: true })
    // flipped: output column x shows crop column 63 - x, i.e. source column 67 - x (padding beyond 63)
    expect(at(out, 0, 0, 0)).toBeCloseTo(norm(0, 0), 6)
    expect(at(out, 0, 10, 0)).toBeCloseTo(norm(57, 0), 6)
    expect(at(out, 0, 10, 1)).toBeCloseTo(norm(4, 1), 6)
  })

  it("'random-resized-crop' of the full window is the identity, and resizes smaller windows bilinearly", () => {
    const out = new Float32Array(64 * 64 * 3)
    const rand = (): number => 0.999 // area ~ 1, ratio ~ 4/3: all 10 tries fail -> centre fallback = full image
    transformImage(coords(), 64, 64, out, 0, rand, { augment: 'random-resized-crop' })
    expect(at(out, 7, 33, 0)).toBeCloseTo(norm(33, 0), 6)
    expect(at(out, 7, 33, 1)).toBeCloseTo(norm(7, 1), 6)
  })
})

describe('randomResizedCropParams (torchvision get_params)', () => {
  it('stays inside the image with area and ratio in range', () => {
    const rand = rngFor(1, 2, 3)
    for (let k = 0; k < 2000; k++) {
      const w = randomResizedCropParams(64, 64, rand)
      expect(w.top >= 0 && w.left >= 0 && w.top + w.height <= 64 && w.left + w.width <= 64).toBe(true)
      const area = (w.width * w.height) / 4096
      // rounding of w and h moves area/ratio slightly past the sampled bounds
      expect(area).toBeGreaterThan(0.06)
      expect(w.width / w.height).toBeGreaterThan(0.6)
      expect(w.width / w.height).toBeLessThan(1.6)
    }
  })

  it('falls back to the largest centred crop with ratio in bounds', () => {
    expect(randomResizedCropParams(64, 64, () => 0.999, [0.08, 1], [2, 3])).toEqual({ top: 16, left: 0, height: 32, width: 64 })
    expect(randomResizedCropParams(64, 64, () => 0.999)).toEqual({ top: 0, left: 0, height: 64, width: 64 })
  })
})

describe('epochOrder', () => {
  it('is a seeded permutation: same seed and epoch, same order; other epoch, other order', () => {
    const a = epochOrder(1000, 7, 3)
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(Array.from(epochOrder(1000, 7, 3))).toEqual(Array.from(a))
    expect(Array.from(epochOrder(1000, 7, 4))).not.toEqual(Array.from(a))
    expect(Array.from(epochOrder(1000, 8, 3))).not.toEqual(Array.from(a))
    expect(Array.from(epochOrder(5, 7, 3, false))).toEqual([0, 1, 2, 3, 4])
  })
})
