/**
 * `pnpm resnet summary`: torchsummary's layer table (`summary(model, (3, 64, 64))` in the experiment report) for an
 * architecture of @tinylab/resnet-models. stdout carries the table only, so it can be diffed against torchsummary.
 */
import { parseArgs } from 'node:util'
import { initBackend, type Device } from '@tinylab/multi-device'
import { createResNet, formatSummary, resnetArchs, summary, type ResNetStem } from '@tinylab/resnet-models'
import { UsageError, type Subcommand } from './usage-error'

const archs = Object.keys(resnetArchs)
const stems: readonly ResNetStem[] = ['imagenet', 'cifar']
const backends: readonly Device[] = ['auto', 'cpu', 'wasm', 'webgpu']

const flagHelp: [string, string][] = [
  [`-a, --arch {${archs.join(',')}}`, 'model architecture (default: resnet18)'],
  ['--num-classes N', 'classes of the final Linear layer (default: 200, Tiny-ImageNet)'],
  ['--image-size S', 'input is 3 x S x S (default: 64)'],
  [`--stem {${stems.join(',')}}`, '7x7/2 conv + max-pool, or 3x3/1 conv without pool (default: imagenet)'],
  [`--backend {${backends.join(',')}}`, "TensorFlow.js backend; replaces imagenet/main.py's --gpu (default: auto)"],
  ['-h, --help', 'show this help'],
]
const width = Math.max(...flagHelp.map(([f]) => f.length)) + 2
const HELP = [
  'usage: pnpm resnet summary [-a ARCH] [--num-classes N] [--image-size S] [--stem STEM] [--backend BACKEND]',
  '',
  "Print torchsummary's table (layers, output shapes, parameter counts, size estimates) for a ResNet.",
  '',
  'options:',
  ...flagHelp.map(([f, h]) => `  ${f.padEnd(width)}${h}`),
].join('\n')

function positiveInt(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`argument ${flag}: invalid positive int value: '${raw}'`)
  return Number(raw)
}

function choice<T extends string>(flag: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`argument ${flag}: invalid choice: '${raw}' (choose from ${allowed.map((c) => `'${c}'`).join(', ')})`)
  }
  return raw as T
}

async function run(argv: string[]): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        arch: { type: 'string', short: 'a', default: 'resnet18' },
        'num-classes': { type: 'string', default: '200' },
        'image-size': { type: 'string', default: '64' },
        stem: { type: 'string', default: 'imagenet' },
        backend: { type: 'string', default: 'auto' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
  if (values.help) {
    console.log(HELP)
    return 0
  }
  const arch = choice('-a/--arch', values.arch, archs)
  const numClasses = positiveInt('--num-classes', values['num-classes'])
  const imageSize = positiveInt('--image-size', values['image-size'])
  const stem = choice('--stem', values.stem, stems)
  const device = choice('--backend', values.backend, backends)

  await initBackend({ device })
  const model = createResNet(arch, { numClasses, stem, seed: 0 })
  try {
    process.stdout.write(formatSummary(summary(model, [3, imageSize, imageSize])))
  } finally {
    model.dispose()
  }
  return 0
}

export const summaryCommand: Subcommand = { describe: "print torchsummary's layer table for a ResNet", run }
