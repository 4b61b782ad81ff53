/**
 * A small, learnable stand-in for Tiny-ImageNet in the REAL layout (wnids.txt, words.txt, train/<wnid>/images/*.JPEG +
 * <wnid>_boxes.txt, val/images + val_annotations.txt, test/images). It lives beside the reader so a demo or test that
 * has no real data still goes through exactly the code path of the real data (readSplit, the loader, the decoder).
 * Each class is a coloured shape (hue and shape depend on the class) at a random place and size on a random
 * background, with pixel noise, saved as 64x64 JPEGs.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { SeededRng } from '@tinylab/seeded-rng'

export interface SyntheticOptions {
  classes: number
  trainPerClass: number
  valPerClass: number
  seed: number
}

/** The demo dataset of `pnpm resnet train` without a data folder: 600 train and 200 val images. */
export const SYNTHETIC_DEFAULTS: SyntheticOptions = { classes: 10, trainPerClass: 60, valPerClass: 20, seed: 0 }

const SIZE = 64
const SHAPES = ['disc', 'square', 'horizontal bars', 'vertical bars', 'cross'] as const

type Encode = (image: { data: Uint8ClampedArray; width: number; height: number }, options?: { quality?: number }) => Promise<ArrayBuffer>

async function loadEncoder(): Promise<Encode> {
  const require = createRequire(import.meta.url)
  const wasmBytes = readFileSync(require.resolve('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm'))
  const WasmApi = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<object> } }).WebAssembly
  const mod = (await import('@jsquash/jpeg/encode.js')) as unknown as { default: Encode; init(module: object): Promise<void> }
  await mod.init(await WasmApi.compile(wasmBytes))
  return mod.default
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number): number => {
    const k = (n + h * 6) % 6
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1))
  }
  return [f(5) * 255, f(3) * 255, f(1) * 255]
}

/** RGBA pixels of one image of class `label`. */
function drawImage(label: number, classes: number, rng: SeededRng): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(SIZE * SIZE * 4)
  const bg = hsvToRgb(rng.next(), 0.3 * rng.next(), 0.2 + 0.5 * rng.next())
  const fg = hsvToRgb((label / classes + 0.04 * (rng.next() - 0.5) + 1) % 1, 0.7 + 0.3 * rng.next(), 0.6 + 0.4 * rng.next())
  const shape = SHAPES[label % SHAPES.length] as (typeof SHAPES)[number]
  const r = 10 + rng.int(12)
  const cx = r + rng.int(SIZE - 2 * r)
  const cy = r + rng.int(SIZE - 2 * r)
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const dx = x - cx
      const dy = y - cy
      const inside =
        shape === 'disc' ? dx * dx + dy * dy <= r * r
        : shape === 'square' ? Math.abs(dx) <= r * 0.8 && Math.abs(dy) <= r * 0.8
        : shape === 'horizontal bars' ? Math.abs(dx) <= r && Math.abs(dy) <= r && Math.floor((dy + r) / 4) % 2 === 0
        : shape === 'vertical bars' ? Math.abs(dx) <= r && Math.abs(dy) <= r && Math.floor((dx + r) / 4) % 2 === 0
        : (Math.abs(dx) <= r / 4 && Math.abs(dy) <= r) || (Math.abs(dy) <= r / 4 && Math.abs(dx) <= r)
      const c = inside ? fg : bg
      const o = (y * SIZE + x) * 4
      for (let ch = 0; ch < 3; ch++) rgba[o + ch] = (c[ch] as number) + 40 * (rng.next() - 0.5)
      rgba[o + 3] = 255
    }
  }
  return rgba
}

/**
 * Writes the dataset into `dir` once (into `dir.tmp-<pid>`, then renamed: the folder is either absent or complete) and
 * returns `dir`. An existing complete folder is reused.
 *
 * ```ts
 * const root = await ensureSyntheticDataset('.cache/tiny-imagenet-synthetic')
 * const { samples } = readSplit(root, 'train')   // 600 images, 10 classes
 * ```
 */
export async function ensureSyntheticDataset(dir: string, options: Partial<SyntheticOptions> = {}): Promise<string> {
  if (existsSync(path.join(dir, 'wnids.txt'))) return dir
  const o: SyntheticOptions = { ...SYNTHETIC_DEFAULTS, ...options }
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  const encode = await loadEncoder()
  const rng = new SeededRng(o.seed)
  const wnids = Array.from({ length: o.classes }, (_, k) => `n9${String(k).padStart(7, '0')}`)
  const jpeg = async (label: number): Promise<Buffer> =>
    Buffer.from(await encode({ data: drawImage(label, o.classes, rng), width: SIZE, height: SIZE }, { quality: 90 }))
  mkdirSync(path.join(tmp, 'val', 'images'), { recursive: true })
  mkdirSync(path.join(tmp, 'test', 'images'), { recursive: true })
  writeFileSync(path.join(tmp, 'wnids.txt'), wnids.join('\n') + '\n')
  writeFileSync(
    path.join(tmp, 'words.txt'),
    wnids.map((w, k) => `${w}\tsynthetic ${SHAPES[k % SHAPES.length]}, hue ${Math.round((360 * k) / o.classes)}`).join('\n') + '\n',
  )
  for (const [k, wnid] of wnids.entries()) {
    const images = path.join(tmp, 'train', wnid, 'images')
    mkdirSync(images, { recursive: true })
    const boxes: string[] = []
    for (let i = 0; i < o.trainPerClass; i++) {
      const name = `${wnid}_${i}.JPEG`
      writeFileSync(path.join(images, name), await jpeg(k))
      boxes.push(`${name}\t0\t0\t63\t63`)
    }
    writeFileSync(path.join(tmp, 'train', wnid, `${wnid}_boxes.txt`), boxes.join('\n') + '\n')
  }
  const annotations: string[] = []
  let n = 0
  for (let i = 0; i < o.valPerClass; i++) {
    for (const [k, wnid] of wnids.entries()) {
      const name = `val_${n++}.JPEG`
      writeFileSync(path.join(tmp, 'val', 'images', name), await jpeg(k))
      annotations.push(`${name}\t${wnid}\t0\t0\t63\t63`)
    }
  }
  writeFileSync(path.join(tmp, 'val', 'val_annotations.txt'), annotations.join('\n') + '\n')
  for (let i = 0; i < o.classes; i++) writeFileSync(path.join(tmp, 'test', 'images', `test_${i}.JPEG`), await jpeg(i))
  mkdirSync(path.dirname(dir), { recursive: true })
  try {
    renameSync(tmp, dir)
  } catch (e) {
    // Another process finished first: keep its copy.
    rmSync(tmp, { recursive: true, force: true })
    if (!existsSync(path.join(dir, 'wnids.txt'))) throw e
  }
  return dir
}
