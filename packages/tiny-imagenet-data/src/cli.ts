#!/usr/bin/env node
import { formatProgress } from '@tinylab/dataset-download'
import { TINY_IMAGENET_URL, downloadTinyImageNet } from './download'
import { readSplit } from './layout'
import type { ClassSelection, Split } from './layout'
import { TinyImageNetLoader } from './loader'
import { prepareVal } from './prepare-val'

const HELP = `usage: tiny-imagenet <command> [options]

commands:
  download [--dir DIR] [--url URL] [--md5 HEX] [--sha256 HEX] [--keep-zip]
      fetch and extract Tiny-ImageNet into DIR/tiny-imagenet-200, resuming an interrupted download
      --dir DIR        parent folder (default: ./data)
      --url URL        archive URL (default: ${TINY_IMAGENET_URL})
      --md5 HEX        expected md5 of the archive (default for the official URL: its known md5 and size)
      --sha256 HEX     expected sha256 of the archive
      --keep-zip       keep the archive after extraction
  prepare-val ROOT --out DIR [--copy] [--classes W1,W2,...] [--num-classes K]
      write val/ in ImageFolder layout (DIR/<wnid>/images/…) from val_annotations.txt; hard links when possible
      (--copy forces copies); safe to re-run
  check ROOT [--split train|val|test] [--skip-bad] [--classes …] [--num-classes K] [--workers N]
      decode every image of a split; fails on the first bad file, or with --skip-bad counts and lists them
  cache ROOT --out FILE [--split train|val] [--skip-bad] [--classes …] [--num-classes K] [--workers N]
      build the packed uint8 cache of decoded images that LoaderOptions.cache reads
  info ROOT [--classes …] [--num-classes K]
      classes and image counts per split
  help
      this text

Class selection: --num-classes K keeps the first K wnids of wnids.txt; --classes keeps the listed ones. Labels are
0..K-1 in sorted wnid order (ImageFolder's rule).`

class UsageError extends Error {}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const v = args[i + 1]
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`)
  return v
}

function positional(args: string[], what: string): string {
  const valued = new Set(['--dir', '--url', '--md5', '--sha256', '--out', '--split', '--classes', '--num-classes', '--workers'])
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (valued.has(a)) i++
    else if (!a.startsWith('--')) return a
  }
  throw new UsageError(`missing ${what}`)
}

function selection(args: string[]): ClassSelection {
  const classes = flag(args, '--classes')
  const k = flag(args, '--num-classes')
  if (k !== undefined && !/^\d+$/.test(k)) throw new UsageError(`--num-classes: expected a positive integer, got "${k}"`)
  return { classes: classes?.split(',').filter(Boolean), numClasses: k === undefined ? undefined : Number(k) }
}

function split(args: string[], allowed: Split[]): Split {
  const s = flag(args, '--split') ?? allowed[0]
  if (!allowed.includes(s as Split)) throw new UsageError(`--split: "${s}" is not one of ${allowed.join(', ')}`)
  return s as Split
}

async function decodeAll(args: string[], cacheFile: string | undefined): Promise<void> {
  const root = positional(args, 'ROOT (the tiny-imagenet-200 folder)')
  const sp = split(args, cacheFile ? ['train', 'val'] : ['train', 'val', 'test'])
  const skipBad = args.includes('--skip-bad')
  const listing = readSplit(root, sp, { ...selection(args), skipBad })
  const workers = flag(args, '--workers')
  const loader = await TinyImageNetLoader.create(listing.samples, {
    batchSize: 512,
    shuffle: false,
    skipBad,
    cache: cacheFile,
    verbose: true,
    workers: workers === undefined ? undefined : Number(workers),
  })
  let images = 0
  try {
    if (!cacheFile) {
      for await (const { y } of loader.arrays(0)) images += y.length
    } else images = loader.count
  } finally {
    await loader.close()
  }
  const skipped = [...listing.skipped, ...loader.skipped]
  for (const s of skipped) console.error(`skipped: ${s.reason.startsWith(s.file) ? s.reason : `${s.file}: ${s.reason}`}`)
  console.log(`${sp}: ${images} images OK${cacheFile ? ` in ${cacheFile}` : ''}, ${skipped.length} skipped`)
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv
  if (command === 'download') {
    let last = ''
    const r = await downloadTinyImageNet({
      dir: flag(args, '--dir') ?? './data',
      url: flag(args, '--url'),
      md5: flag(args, '--md5'),
      sha256: flag(args, '--sha256'),
      keepZip: args.includes('--keep-zip'),
      onProgress: (p) => {
        const line = formatProgress(p)
        if (line !== last) process.stderr.write(`\r${line}\x1b[K`)
        last = line
      },
    })
    if (last) process.stderr.write('\n')
    console.log(r.cached ? `${r.root}: already present` : `${r.root}: ${r.files} files`)
  } else if (command === 'prepare-val') {
    const root = positional(args, 'ROOT (the tiny-imagenet-200 folder)')
    const out = flag(args, '--out')
    if (!out) throw new UsageError('prepare-val needs --out DIR')
    const r = await prepareVal({ root, out, mode: args.includes('--copy') ? 'copy' : 'auto', ...selection(args) })
    console.log(`${r.out}: ${r.linked} linked, ${r.copied} copied, ${r.existing} already in place`)
  } else if (command === 'check') {
    await decodeAll(args, undefined)
  } else if (command === 'cache') {
    const out = flag(args, '--out')
    if (!out) throw new UsageError('cache needs --out FILE')
    await decodeAll(args, out)
  } else if (command === 'info') {
    const root = positional(args, 'ROOT (the tiny-imagenet-200 folder)')
    const sel = selection(args)
    const train = readSplit(root, 'train', sel)
    const val = readSplit(root, 'val', sel)
    console.log(`${train.classes.wnids.length} classes (${train.classes.wnids[0] ?? ''}: ${train.classes.names[0] ?? ''} …)`)
    console.log(`train ${train.samples.length}, val ${val.samples.length}, test ${readSplit(root, 'test').samples.length}`)
  } else if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(HELP)
  } else {
    throw new UsageError(`unknown command "${command}" (commands: download, prepare-val, check, cache, info, help)`)
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`tiny-imagenet: ${(e as Error).message}${e instanceof UsageError ? '\n(run `tiny-imagenet help` for usage)' : ''}`)
  process.exit(e instanceof UsageError ? 2 : 1)
})
