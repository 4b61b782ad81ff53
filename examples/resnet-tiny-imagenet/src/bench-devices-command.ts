/**
 * `pnpm resnet bench-devices`: the report's step (6), "train without GPU, with one GPU, with several", as one table:
 * the same short ResNet-18 training on every device configuration this machine has (@tinylab/device-bench's
 * benchDevices), written as Markdown + CSV where `pnpm resnet report` picks it up.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { benchDevices } from '@tinylab/device-bench'
import { asUsage, formatHelp, positiveInt } from './_flags'
import { UsageError, type Subcommand } from './usage-error'

const HELP = formatHelp(
  'usage: pnpm resnet bench-devices (--run DIR | --out FILE.md) [-b N] [--steps N] [--only a,b] [--skip-torch]',
  'Time the same ResNet-18 training steps (64x64, 200 classes, SGD momentum) on each device configuration and PyTorch CPU.',
  [
    ['--run DIR', 'write DIR/devices.md and DIR/devices.csv (the report includes them) (default: none)'],
    ['--out FILE.md', 'write the table here (a .csv beside it) (default: none)'],
    ['-b, --batch-size N', 'images per step (default: 64)'],
    ['--steps N', 'timed steps per configuration (default: 2)'],
    ['--only LIST', 'rows to run: cpu, wasm-1, wasm-n, dp-wasm, native-n, dp-native, webgpu, dp-webgpu, tfjs-node-gpu, torch (default: all)'],
    ['--skip-torch', 'leave out the PyTorch CPU row (default: off)'],
    ['-h, --help', 'show this help'],
  ],
)

async function run(argv: string[]): Promise<number> {
  const { values } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        run: { type: 'string' },
        out: { type: 'string' },
        'batch-size': { type: 'string', short: 'b' },
        steps: { type: 'string', default: '2' },
        only: { type: 'string' },
        'skip-torch': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (values.help) {
    console.log(HELP)
    return 0
  }
  const out = values.out ?? (values.run === undefined ? undefined : path.join(values.run, 'devices.md'))
  if (out === undefined) throw new UsageError('one of the arguments --run --out is required')
  const { markdown } = await benchDevices({
    model: 'resnet18',
    batch: values['batch-size'] === undefined ? undefined : positiveInt('-b/--batch-size', values['batch-size']),
    steps: positiveInt('--steps', values.steps),
    only: values.only?.split(','),
    out,
    skipTorch: values['skip-torch'],
  })
  console.log(markdown)
  console.log(`wrote ${out} and ${out.replace(/\.md$/u, '.csv')}`)
  return 0
}

export const benchDevicesCommand: Subcommand = { describe: 'time training on every device configuration (Markdown + CSV table)', run }
