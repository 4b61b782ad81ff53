/**
 * The synthetic Tiny-ImageNet of @tinylab/tiny-imagenet-data at the real dataset's size (200 classes x 500 train
 * images, 10,000 val images), made by several processes at once: `ensureSyntheticDataset` draws and encodes one image
 * after another (~5 ms each here), so 110,000 images take minutes on one core. Shard p of P is a complete synthetic
 * dataset of its own (same wnids, seed `seed + p`, so every image is distinct) with its share of the images per class;
 * `mergeShards` moves the shards' files into one folder in the real layout, renumbered, with one boxes file per class
 * and one val_annotations.txt.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ensureSyntheticDataset } from '@tinylab/tiny-imagenet-data'

export interface FullSyntheticOptions {
  classes: number
  trainPerClass: number
  valPerClass: number
  /** Shard p is drawn with seed `seed + p`. */
  seed: number
}

/** The real dataset's sizes: 100,000 train and 10,000 val images. */
export const TINY_IMAGENET_SIZES: FullSyntheticOptions = { classes: 200, trainPerClass: 500, valPerClass: 50, seed: 1 }

/** Shard p's share of n items split over `shards`: the first n % shards shards take one more. */
export function shareOf(n: number, shard: number, shards: number): number {
  return Math.floor(n / shards) + (shard < n % shards ? 1 : 0)
}

export const shardDir = (dir: string, shard: number): string => `${dir}.shard-${shard}`

/** Writes shard `shard` of `shards` into `shardDir(dir, shard)` (reused when already complete). */
export async function writeShard(dir: string, shard: number, shards: number, o: FullSyntheticOptions): Promise<string> {
  return ensureSyntheticDataset(shardDir(dir, shard), {
    classes: o.classes,
    trainPerClass: shareOf(o.trainPerClass, shard, shards),
    valPerClass: shareOf(o.valPerClass, shard, shards),
    seed: o.seed + shard,
  })
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')

/**
 * Moves the files of shards 0..shards-1 into `dir` (through `dir.tmp-<pid>`, renamed when complete) and removes the
 * shards. Train images of class w become `w_<n>.JPEG` numbered across shards, val images `val_<n>.JPEG`, test images
 * `test_<n>.JPEG`.
 */
export function mergeShards(dir: string, shards: number): { train: number; val: number; test: number } {
  const sources = Array.from({ length: shards }, (_, p) => shardDir(dir, p))
  for (const s of sources) if (!existsSync(path.join(s, 'wnids.txt'))) throw new Error(`${s}: shard missing or incomplete`)
  const first = sources[0] as string
  const wnids = lines(path.join(first, 'wnids.txt'))
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(path.join(tmp, 'val', 'images'), { recursive: true })
  mkdirSync(path.join(tmp, 'test', 'images'), { recursive: true })
  for (const f of ['wnids.txt', 'words.txt']) writeFileSync(path.join(tmp, f), readFileSync(path.join(first, f)))
  let train = 0
  for (const wnid of wnids) {
    const images = path.join(tmp, 'train', wnid, 'images')
    mkdirSync(images, { recursive: true })
    const boxes: string[] = []
    for (const s of sources) {
      for (const line of lines(path.join(s, 'train', wnid, `${wnid}_boxes.txt`))) {
        const [name, ...box] = line.split('\t')
        const renamed = `${wnid}_${boxes.length}.JPEG`
        renameSync(path.join(s, 'train', wnid, 'images', name as string), path.join(images, renamed))
        boxes.push([renamed, ...box].join('\t'))
      }
    }
    writeFileSync(path.join(tmp, 'train', wnid, `${wnid}_boxes.txt`), boxes.join('\n') + '\n')
    train += boxes.length
  }
  const annotations: string[] = []
  let test = 0
  for (const s of sources) {
    for (const line of lines(path.join(s, 'val', 'val_annotations.txt'))) {
      const [name, ...rest] = line.split('\t')
      const renamed = `val_${annotations.length}.JPEG`
      renameSync(path.join(s, 'val', 'images', name as string), path.join(tmp, 'val', 'images', renamed))
      annotations.push([renamed, ...rest].join('\t'))
    }
    for (const name of readdirSync(path.join(s, 'test', 'images')).sort()) renameSync(path.join(s, 'test', 'images', name), path.join(tmp, 'test', 'images', `test_${test++}.JPEG`))
  }
  writeFileSync(path.join(tmp, 'val', 'val_annotations.txt'), annotations.join('\n') + '\n')
  rmSync(dir, { recursive: true, force: true })
  renameSync(tmp, dir)
  for (const s of sources) rmSync(s, { recursive: true, force: true })
  return { train, val: annotations.length, test }
}

/**
 * Makes the dataset in `dir` with `processes` child processes, each running `script shard DIR p/P ...` (the bundled
 * resnet-epoch.mjs, whose `shard` command calls `writeShard`), then merges them. Resolves with the merged counts and
 * the seconds each phase took.
 */
export async function makeFullSynthetic(
  dir: string,
  o: FullSyntheticOptions,
  processes: number,
  script: string,
): Promise<{ train: number; val: number; test: number; shardsS: number; mergeS: number }> {
  const t0 = performance.now()
  const sizes = ['--classes', o.classes, '--train-per-class', o.trainPerClass, '--val-per-class', o.valPerClass, '--seed', o.seed].map(String)
  await Promise.all(
    Array.from(
      { length: processes },
      (_, p) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, [script, 'shard', dir, `${p}/${processes}`, ...sizes], { stdio: ['ignore', 'inherit', 'inherit'] })
          child.on('error', reject)
          child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`data shard ${p}/${processes} failed (${signal ?? `exit ${code}`})`))))
        }),
    ),
  )
  const t1 = performance.now()
  const counts = mergeShards(dir, processes)
  return { ...counts, shardsS: (t1 - t0) / 1000, mergeS: (performance.now() - t1) / 1000 }
}
