// Builds a miniature Tiny-ImageNet in the real layout (2-3 classes, a handful of 64x64 JPEGs) for unit tests.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import encodeJpeg, { init as initEncoder } from '@jsquash/jpeg/encode.js'

let ready: Promise<void> | undefined
function initOnce(): Promise<void> {
  const require = createRequire(import.meta.url)
  const wasm = readFileSync(require.resolve('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm'))
  const Wasm = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<unknown> } }).WebAssembly
  ready ??= Wasm.compile(wasm).then((m) => initEncoder(m as Parameters<typeof initEncoder>[0]))
  return ready
}

/** A seeded 64x64 RGBA pattern: gradients whose phase depends on `seed`, so every image differs. */
function pattern(seed: number): Uint8ClampedArray {
  const px = new Uint8ClampedArray(64 * 64 * 4)
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const o = (y * 64 + x) * 4
      px[o] = (x * 4 + seed * 37) % 256
      px[o + 1] = (y * 4 + seed * 91) % 256
      px[o + 2] = ((x + y) * 2 + seed * 53) % 256
      px[o + 3] = 255
    }
  }
  return px
}

/** JPEG bytes of pattern(seed); `gray` writes a 1-component JPEG like the 1,821 grayscale train images. */
export async function makeJpeg(seed: number, gray = false): Promise<Buffer> {
  await initOnce()
  const data = pattern(seed)
  const image = { data, width: 64, height: 64, colorSpace: 'srgb' } as unknown as Parameters<typeof encodeJpeg>[0]
  return Buffer.from(await encodeJpeg(image, { quality: 90, color_space: gray ? 1 : 3 }))
}

export interface Fixture {
  root: string
  /** wnids in wnids.txt order (deliberately not sorted). */
  wnids: string[]
  /** val file -> wnid */
  val: Map<string, string>
}

/**
 * Writes `root` with wnids.txt (unsorted), words.txt, train/<wnid>/images/<wnid>_<i>.JPEG (+ _boxes.txt),
 * val/images + val_annotations.txt, test/images. Image i of class c has pattern seed 100*c + i.
 */
export async function makeFixture(root: string, perClass = 4, valPerClass = 2, testCount = 3): Promise<Fixture> {
  const wnids = ['n09999999', 'n01000001', 'n05555555']
  mkdirSync(root, { recursive: true })
  writeFileSync(path.join(root, 'wnids.txt'), `${wnids.join('\n')}\n`)
  writeFileSync(path.join(root, 'words.txt'), 'n00000001\tentity\nn09999999\tzebra, striped horse\nn01000001\taardvark\nn05555555\tmug\n')
  for (const [c, wnid] of wnids.entries()) {
    const dir = path.join(root, 'train', wnid, 'images')
    mkdirSync(dir, { recursive: true })
    const boxes: string[] = []
    for (let i = 0; i < perClass; i++) {
      writeFileSync(path.join(dir, `${wnid}_${i}.JPEG`), await makeJpeg(100 * c + i, i === 1))
      boxes.push(`${wnid}_${i}.JPEG\t${i}\t${i + 1}\t${40 + i}\t${50 + i}`)
    }
    writeFileSync(path.join(root, 'train', wnid, `${wnid}_boxes.txt`), `${boxes.join('\n')}\n`)
  }
  const val = new Map<string, string>()
  const lines: string[] = []
  mkdirSync(path.join(root, 'val', 'images'), { recursive: true })
  for (let k = 0; k < valPerClass * wnids.length; k++) {
    const wnid = wnids[(k * 2) % wnids.length] as string
    const name = `val_${k}.JPEG`
    writeFileSync(path.join(root, 'val', 'images', name), await makeJpeg(5000 + k))
    val.set(name, wnid)
    lines.push(`${name}\t${wnid}\t${k}\t${k}\t${60 - k}\t${61 - k}`)
  }
  writeFileSync(path.join(root, 'val', 'val_annotations.txt'), `${lines.join('\n')}\n`)
  mkdirSync(path.join(root, 'test', 'images'), { recursive: true })
  for (let k = 0; k < testCount; k++) writeFileSync(path.join(root, 'test', 'images', `test_${k}.JPEG`), await makeJpeg(9000 + k))
  return { root, wnids, val }
}
