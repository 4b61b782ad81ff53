import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { SHARED_DATA, sharedDataSkipReason } from '@tinylab/test-utils/paths'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IMAGENET_MEAN, IMAGENET_STD, decodeJpeg, initJpegDecoder, readSplit } from '../src/index'
import { resizedCrop } from '../src/augment'

const ROOT = path.join(SHARED_DATA, 'tiny-imagenet-200-subset')
// Counts from ../shared/data/PROVENANCE.txt.
describe.skipIf(!!sharedDataSkipReason('tiny-imagenet-200-subset'))('Tiny-ImageNet subset (real files)', () => {
  beforeAll(async () => {
    await initJpegDecoder()
  })

  it('has 200 classes, 14,500 train, 10,000 val, 1,000 test images', () => {
    const train = readSplit(ROOT, 'train')
    expect(train.classes.wnids.length).toBe(200)
    expect(train.samples.length).toBe(14500)
    expect(readSplit(ROOT, 'val').samples.length).toBe(10000)
    expect(readSplit(ROOT, 'test').samples.length).toBe(1000)
    // the example's 10-class run: the first 10 wnids of wnids.txt have all 500 images each
    const ten = readSplit(ROOT, 'train', { numClasses: 10 })
    expect(ten.classes.wnids).toEqual(['n01641577', 'n02124075', 'n02802426', 'n03970156', 'n04067472', 'n04099969', 'n04540053', 'n07749582', 'n07920052', 'n09246464'])
    expect(ten.samples.length).toBe(5000)
    expect(readSplit(ROOT, 'val', { numClasses: 10 }).samples.length).toBe(500)
  })

  const reason = requireTorchOrSkipReason()
  describe.skipIf(!!reason)('against Python (PIL, torchvision)', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'tin-real-'))
    afterAll(() => rmSync(tmp, { recursive: true, force: true }))

    it('val labels equal ImageFolder-style indices computed from val_annotations.txt by Python', async () => {
      const script = `
import sys
root = sys.argv[1]
wnids = sorted(l.strip() for l in open(root + '/wnids.txt') if l.strip())
idx = {w: i for i, w in enumerate(wnids)}
for line in open(root + '/val/val_annotations.txt'):
    f, w = line.split('\\t')[:2]
    print(f, idx[w])
`
      const lines = (await runPython(script, [ROOT])).trim().split('\n')
      const ours = readSplit(ROOT, 'val').samples.map((s) => `${path.basename(s.path)} ${s.label}`)
      expect(ours).toEqual(lines)
    })

    it("decoded pixels equal PIL's Image.open(p).convert('RGB') within ±1, grayscale JPEGs included", async () => {
      const val = readSplit(ROOT, 'val').samples
      const train = readSplit(ROOT, 'train').samples
      const picked = [...val.slice(0, 150), ...train.filter((_, i) => i % 97 === 0)].map((s) => s.path)
      writeFileSync(path.join(tmp, 'files.txt'), picked.join('\n'))
      const script = `
import sys, numpy as np
from PIL import Image
files = open(sys.argv[1]).read().split('\\n')
modes = []
with open(sys.argv[2], 'wb') as out:
    for p in files:
        im = Image.open(p)
        modes.append(im.mode)
        a = np.asarray(im.convert('RGB'), dtype=np.uint8)
        assert a.shape == (64, 64, 3), (p, a.shape)
        out.write(a.tobytes())
print(' '.join(modes))
`
      const modes = (await runPython(script, [path.join(tmp, 'files.txt'), path.join(tmp, 'pil.bin')])).trim().split(' ')
      const gray = modes.filter((m) => m === 'L').length
      expect(gray).toBeGreaterThanOrEqual(2) // val_10 and val_116 among the first 150 are 1-component JPEGs
      const pil = readFileSync(path.join(tmp, 'pil.bin'))
      let worst = 0
      picked.forEach((p, k) => {
        const ours = decodeJpeg(readFileSync(p), p).data
        worst = Math.max(worst, maxAbsDiff(ours, pil.subarray(k * 12288, (k + 1) * 12288)))
      })
      expect(worst).toBeLessThanOrEqual(1)
    })

    it('resizedCrop + normalisation match torchvision F.resized_crop(BILINEAR) + ToTensor + Normalize', async () => {
      const files = readSplit(ROOT, 'val').samples.slice(0, 6).map((s) => s.path)
      // (top, left, height, width, flip): full window, upsampling crops, a thin one, a flipped one
      const windows: [number, number, number, number, boolean][] = [
        [0, 0, 64, 64, false],
        [10, 5, 40, 30, false],
        [0, 20, 17, 44, false],
        [3, 3, 58, 61, true],
        [30, 0, 8, 64, false],
        [12, 40, 24, 24, true],
      ]
      writeFileSync(path.join(tmp, 'crops.txt'), files.map((f, k) => [f, ...(windows[k] as unknown[])].join('\t')).join('\n'))
      const script = `
import sys, numpy as np, torch
from PIL import Image
import torchvision.transforms as T
import torchvision.transforms.functional as F
norm = T.Compose([T.ToTensor(), T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
with open(sys.argv[2], 'wb') as out:
    for line in open(sys.argv[1]).read().split('\\n'):
        p, t, l, h, w, flip = line.split('\\t')
        im = F.resized_crop(Image.open(p).convert('RGB'), int(t), int(l), int(h), int(w), [64, 64], T.InterpolationMode.BILINEAR)
        if flip == 'true':
            im = F.hflip(im)
        out.write(norm(im).permute(1, 2, 0).contiguous().numpy().astype(np.float32).tobytes())
`
      await runPython(script, [path.join(tmp, 'crops.txt'), path.join(tmp, 'tv.bin')])
      const tv = new Float32Array(new Uint8Array(readFileSync(path.join(tmp, 'tv.bin'))).buffer)
      files.forEach((f, k) => {
        const [top, left, height, width, flip] = windows[k] as [number, number, number, number, boolean]
        const img = decodeJpeg(readFileSync(f), f)
        const ours = new Float32Array(12288)
        resizedCrop(img.data, 64, 64, { top, left, height, width }, flip, ours, 0, { mean: IMAGENET_MEAN, std: IMAGENET_STD })
        const ref = tv.subarray(k * 12288, (k + 1) * 12288)
        // Identity window: same float math, so only float32 rounding. Resized: PIL rounds to uint8 after each of its
        // two separable passes, so up to ~1 grey level (1/255/std = 0.0175) apart; allow 1.5 levels.
        const tol = k === 0 ? 1e-5 : 1.5 / 255 / 0.224
        expect(maxAbsDiff(ours, ref), `window ${k}`).toBeLessThanOrEqual(tol)
      })
    })
  })
})
