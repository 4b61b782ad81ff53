// The GPU epoch script's two halves without a GPU: the 200-class synthetic data made in shards and merged into the real
// layout (read back by the package's own reader), and the times read out of a real `pnpm resnet train` log.
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readSplit } from '@tinylab/tiny-imagenet-data'
import { summarizeEpoch, type TimedLine } from '../bench/_resnet-epoch'
import { mergeShards, shardDir, shareOf, writeShard } from '../bench/_synthetic-shards'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'resnet-epoch-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('synthetic data in shards', () => {
  it('splits n over the shards, the first n % shards taking one more', () => {
    expect([0, 1, 2, 3].map((p) => shareOf(10, p, 4))).toEqual([3, 3, 2, 2])
    expect(Array.from({ length: 16 }, (_, p) => shareOf(500, p, 16)).reduce((a, b) => a + b)).toBe(500)
    expect(shareOf(1, 1, 2)).toBe(0)
  })

  it('merges shards into one dataset in the real layout: every image distinct, labels kept, shards removed', async () => {
    const dir = path.join(tmp, 'data')
    const o = { classes: 3, trainPerClass: 5, valPerClass: 2, seed: 7 }
    for (let p = 0; p < 2; p++) await writeShard(dir, p, 2, o)
    // Shard 0 takes 3 of each class's 5 train images and 1 of its 2 val images; shard 1 the rest.
    expect(readSplit(shardDir(dir, 0), 'train').samples).toHaveLength(9)
    expect(readSplit(shardDir(dir, 1), 'val').samples).toHaveLength(3)
    expect(mergeShards(dir, 2)).toEqual({ train: 15, val: 6, test: 6 })
    expect(existsSync(shardDir(dir, 0)) || existsSync(shardDir(dir, 1))).toBe(false)

    const train = readSplit(dir, 'train')
    const val = readSplit(dir, 'val')
    expect(train.classes.wnids).toHaveLength(3)
    expect(train.samples).toHaveLength(15)
    expect(val.samples).toHaveLength(6)
    for (const wnid of train.classes.wnids) {
      expect(readdirSync(path.join(dir, 'train', wnid, 'images')).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${wnid}_${i}.JPEG`).sort())
      expect(readFileSync(path.join(dir, 'train', wnid, `${wnid}_boxes.txt`), 'utf8').trim().split('\n')).toHaveLength(5)
    }
    // Each val class keeps its two images (one per shard) under its own label.
    const perClass = new Map<number, number>()
    for (const s of val.samples) perClass.set(s.label, (perClass.get(s.label) ?? 0) + 1)
    expect([...perClass.values()]).toEqual([2, 2, 2])
    const hashes = new Set([...train.samples, ...val.samples].map((s) => createHash('sha1').update(readFileSync(s.path)).digest('hex')))
    expect(hashes.size).toBe(21)
  })

  it('refuses to merge a missing shard', () => {
    expect(() => mergeShards(path.join(tmp, 'none'), 2)).toThrow(/none\.shard-0: shard missing or incomplete/)
  })
})

// Lines of a real run (bundle on lavapipe: 200 classes x 2 images, -b 16 -p 5), with arrival times chosen here.
const RUN = [
  [2.5, '=> run folder /tmp/resnet-epoch-runs/Dec06_21-20-31_resnet18 (TensorBoard: tensorboard --logdir /tmp/resnet-epoch-runs); checkpoints in /tmp/r'],
  [12.5, 'Epoch: [0][ 0/25]\tTime  9.593 ( 9.593)\tData  0.197 ( 0.197)\tLoss 5.5777e+00 (5.5777e+00)\tAcc@1   0.00 (  0.00)\tAcc@5   6.25 (  6.25)'],
  [62.5, 'Epoch: [0][ 5/25]\tTime 12.156 (10.545)\tData  0.005 ( 0.035)\tLoss 8.3520e+00 (6.9505e+00)\tAcc@1   0.00 (  0.00)\tAcc@5   0.00 (  1.04)'],
  [212.5, 'Epoch: [0][20/25]\tTime  5.853 (10.151)\tData  0.000 ( 0.012)\tLoss 6.3836e+00 (7.3425e+00)\tAcc@1   0.00 (  0.30)\tAcc@5   0.00 (  1.19)'],
  [260, 'Test: [ 0/13]\tTime  3.898 ( 3.898)\tLoss 8.6744e+01 (8.6744e+01)\tAcc@1   0.00 (  0.00)\tAcc@5   0.00 (  0.00)'],
  [280, 'Test: [10/13]\tTime  3.394 ( 3.458)\tLoss 1.6494e+02 (1.6917e+02)\tAcc@1   0.00 (  0.57)\tAcc@5   0.00 (  1.70)'],
  [290, ' *   Acc@1 0.500 Acc@5 2.000'],
  [291, 'Training Finished (best Acc@1 0.500); report: pnpm resnet report --run /tmp/resnet-epoch-runs/Dec06_21-20-31_resnet18'],
] as const
const timed = (rows: readonly (readonly [number, string])[]): TimedLine[] => rows.map(([t, text]) => ({ t, text }))

describe('summarizeEpoch', () => {
  it('reads start-up, trace, training loop, steady rate, validation and the epoch from a finished run', () => {
    const s = summarizeEpoch(timed(RUN), 16, 295)
    expect(s.batches).toBe(25)
    expect(s.batchesDone).toBe(25)
    expect(s.startupS).toBe(2.5)
    expect(s.firstBatchS).toBe(10)
    // The loop's own average over batches 0..20.
    expect(s.trainLoopBatches).toBe(21)
    expect(s.trainLoopS).toBeCloseTo(10.151 * 21, 9)
    expect(s.dataWaitS).toBe(0.012)
    // Batches 1..20 (20 x 16 images) between the lines at 12.5 s and 212.5 s.
    expect(s.steadyImagesPerS).toBeCloseTo((20 * 16) / 200, 9)
    // Validation began 3.898 s before its first line.
    expect(s.validationS).toBeCloseTo(290 - (260 - 3.898), 9)
    expect(s.epochS).toBe(287.5)
    expect([s.acc1, s.acc5]).toEqual([0.5, 2])
    expect(s.totalS).toBe(295)
  })

  it('a run Ctrl-C-ed mid-epoch: batches done from the save line, no epoch time', () => {
    const stopped = timed([...RUN.slice(0, 4), [220, '=> interrupted: saved /tmp/r/checkpoint.pth.tar at epoch 0, batch 23; continue with --resume /tmp/r/checkpoint.pth.tar']])
    const s = summarizeEpoch(stopped, 16, 230)
    expect(s.batchesDone).toBe(23)
    expect(s.epochS).toBeUndefined()
    expect(s.validationS).toBeUndefined()
    expect(s.trainLoopBatches).toBe(21)
  })

  it('a run that printed nothing of its epoch', () => {
    const s = summarizeEpoch(timed([[1, "resnet: error: initBackend: device 'webgpu' needs @tinylab/webgpu-backend"]]), 256, 1.2)
    expect(s).toMatchObject({ batches: undefined, batchesDone: 0, trainLoopS: undefined, epochS: undefined, totalS: 1.2 })
  })
})
