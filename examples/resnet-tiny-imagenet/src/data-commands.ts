/**
 * `pnpm resnet download` and `pnpm resnet prepare-val`: thin wrappers over @tinylab/tiny-imagenet-data, so the example
 * has one CLI from getting the data to the report.
 */
import { parseArgs } from 'node:util'
import { formatProgress } from '@tinylab/dataset-download'
import { downloadTinyImageNet, prepareVal } from '@tinylab/tiny-imagenet-data'
import { asUsage, formatHelp, positiveInt } from './_flags'
import { UsageError, type Subcommand } from './usage-error'

const DOWNLOAD_HELP = formatHelp(
  'usage: pnpm resnet download [--out DIR] [--url URL] [--md5 HEX] [--sha256 HEX] [--keep-zip]',
  'Fetch the official Tiny-ImageNet archive (248 MB, md5-checked, resumable: re-run after Ctrl-C) and extract it to DIR/tiny-imagenet-200.',
  [
    ['--out DIR', 'parent folder of tiny-imagenet-200 (default: ./data)'],
    ['--url URL', 'archive URL (default: http://cs231n.stanford.edu/tiny-imagenet-200.zip)'],
    ['--md5 HEX', "expected md5 of the archive (default: the official archive's)"],
    ['--sha256 HEX', 'expected sha256 of the archive (default: none)'],
    ['--keep-zip', 'keep the archive after extraction (default: off)'],
    ['-h, --help', 'show this help'],
  ],
)

async function download(argv: string[]): Promise<number> {
  const { values } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        out: { type: 'string', default: './data' },
        url: { type: 'string' },
        md5: { type: 'string' },
        sha256: { type: 'string' },
        'keep-zip': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (values.help) {
    console.log(DOWNLOAD_HELP)
    return 0
  }
  let last = ''
  const r = await downloadTinyImageNet({
    dir: values.out,
    url: values.url,
    md5: values.md5,
    sha256: values.sha256,
    keepZip: values['keep-zip'],
    onProgress: (p) => {
      const line = formatProgress(p)
      if (line !== last) process.stderr.write(`\r${line}\x1b[K`)
      last = line
    },
  })
  if (last) process.stderr.write('\n')
  console.log(r.cached ? `${r.root}: already present` : `${r.root}: ${r.files} files`)
  console.log(`next: pnpm resnet train ${r.root}`)
  return 0
}

const PREPARE_HELP = formatHelp(
  'usage: pnpm resnet prepare-val ROOT --out DIR [--copy] [--classes W1,W2,...] [--num-classes-subset K]',
  'Write val/ in ImageFolder layout (DIR/<wnid>/images/...) from val_annotations.txt, as the reference run did for PyTorch.\n' +
    "'pnpm resnet train' does not need it: it labels val in place.",
  [
    ['ROOT', 'the tiny-imagenet-200 folder (default: required)'],
    ['--out DIR', 'writable output folder (default: required)'],
    ['--copy', 'copy files instead of hard-linking them (default: links where possible)'],
    ['--classes W1,W2,...', 'only these wnids (default: all)'],
    ['--num-classes-subset K', 'only the first K wnids of wnids.txt (default: all)'],
    ['-h, --help', 'show this help'],
  ],
)

async function prepare(argv: string[]): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        copy: { type: 'boolean', default: false },
        classes: { type: 'string' },
        'num-classes-subset': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (values.help) {
    console.log(PREPARE_HELP)
    return 0
  }
  const root = positionals[0]
  if (root === undefined || values.out === undefined) throw new UsageError('the following arguments are required: ROOT, --out')
  const r = await prepareVal({
    root,
    out: values.out,
    mode: values.copy ? 'copy' : 'auto',
    classes: values.classes?.split(',').filter((s) => s !== ''),
    numClasses: values['num-classes-subset'] === undefined ? undefined : positiveInt('--num-classes-subset', values['num-classes-subset']),
  })
  console.log(`${r.out}: ${r.linked} linked, ${r.copied} copied, ${r.existing} already in place`)
  return 0
}

export const downloadCommand: Subcommand = { describe: 'download and extract Tiny-ImageNet (resumable, checksum-verified)', run: download }
export const prepareValCommand: Subcommand = { describe: 'write val/ in ImageFolder layout from val_annotations.txt', run: prepare }
