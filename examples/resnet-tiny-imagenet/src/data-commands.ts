/**
 * `pnpm resnet download` and `pnpm resnet prepare-val`: thin wrappers over @tinylab/tiny-imagenet-data, so the example
 * has one CLI from getting the data to the report.
 */
import { formatProgress } from '@tinylab/dataset-download'
import { downloadTinyImageNet, prepareVal } from '@tinylab/tiny-imagenet-data'
import { flagTable, helpText, parseFlags, UsageError } from '@tinylab/cli-flags'
import type { Subcommand } from './subcommand'

const DOWNLOAD_FLAGS = flagTable({
  out: { names: ['--out'], type: 'string', metavar: 'DIR', default: './data', help: 'parent folder of tiny-imagenet-200' },
  url: { names: ['--url'], type: 'string', metavar: 'URL', defaultHelp: 'http://cs231n.stanford.edu/tiny-imagenet-200.zip', help: 'archive URL' },
  md5: { names: ['--md5'], type: 'string', metavar: 'HEX', defaultHelp: "the official archive's", help: 'expected md5 of the archive' },
  sha256: { names: ['--sha256'], type: 'string', metavar: 'HEX', defaultHelp: 'none', help: 'expected sha256 of the archive' },
  keep_zip: { names: ['--keep-zip'], type: 'bool', defaultHelp: 'off', help: 'keep the archive after extraction' },
  help: { names: ['-h', '--help'], type: 'bool', help: 'show this help' },
})

async function download(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, DOWNLOAD_FLAGS)
  if (values.help) {
    console.log(
      helpText(
        'pnpm resnet download [--out DIR] [--url URL] [--md5 HEX] [--sha256 HEX] [--keep-zip]',
        'Fetch the official Tiny-ImageNet archive (248 MB, md5-checked, resumable: re-run after Ctrl-C) and extract it to DIR/tiny-imagenet-200.',
        DOWNLOAD_FLAGS,
      ),
    )
    return 0
  }
  let last = ''
  const r = await downloadTinyImageNet({
    dir: values.out,
    url: values.url,
    md5: values.md5,
    sha256: values.sha256,
    keepZip: values.keep_zip,
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

const PREPARE_FLAGS = flagTable({
  root: { names: [], label: 'ROOT', type: 'string', defaultHelp: 'required', help: 'the tiny-imagenet-200 folder' },
  out: { names: ['--out'], type: 'string', metavar: 'DIR', defaultHelp: 'required', help: 'writable output folder' },
  copy: { names: ['--copy'], type: 'bool', defaultHelp: 'links where possible', help: 'copy files instead of hard-linking them' },
  classes: { names: ['--classes'], type: 'string', metavar: 'W1,W2,...', defaultHelp: 'all', help: 'only these wnids' },
  num_classes_subset: { names: ['--num-classes-subset'], type: 'positive int', metavar: 'K', defaultHelp: 'all', help: 'only the first K wnids of wnids.txt' },
  help: { names: ['-h', '--help'], type: 'bool', help: 'show this help' },
})

async function prepare(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, PREPARE_FLAGS, { positionals: true })
  if (values.help) {
    console.log(
      helpText(
        'pnpm resnet prepare-val ROOT --out DIR [--copy] [--classes W1,W2,...] [--num-classes-subset K]',
        'Write val/ in ImageFolder layout (DIR/<wnid>/images/...) from val_annotations.txt, as the reference run did for PyTorch.\n' +
          "'pnpm resnet train' does not need it: it labels val in place.",
        PREPARE_FLAGS,
      ),
    )
    return 0
  }
  const root = positionals[0]
  if (root === undefined || values.out === undefined) throw new UsageError('the following arguments are required: ROOT, --out')
  const r = await prepareVal({
    root,
    out: values.out,
    mode: values.copy ? 'copy' : 'auto',
    classes: values.classes?.split(',').filter((s) => s !== ''),
    numClasses: values.num_classes_subset,
  })
  console.log(`${r.out}: ${r.linked} linked, ${r.copied} copied, ${r.existing} already in place`)
  return 0
}

export const downloadCommand: Subcommand = { describe: 'download and extract Tiny-ImageNet (resumable, checksum-verified)', run: download }
export const prepareValCommand: Subcommand = { describe: 'write val/ in ImageFolder layout from val_annotations.txt', run: prepare }
