/**
 * `pnpm resnet bench-devices`: the report's step (6), "train without GPU, with one GPU, with several", as one table:
 * the same short ResNet-18 training on every device configuration this machine has (@tinylab/device-bench's
 * benchDevices), written as Markdown + CSV where `pnpm resnet report` picks it up.
 */
import path from 'node:path'
import { benchDevices } from '@tinylab/device-bench'
import { flagTable, helpText, parseFlags, UsageError } from '@tinylab/cli-flags'
import type { Subcommand } from './subcommand'

// Compiled WebGPU rows time replays after the 3 untimed calls that trace the step.
const ROWS = 'cpu, wasm-1, wasm-n, dp-wasm, native-n, dp-native, webgpu (compiled step), webgpu-eager, dp-webgpu (2 replicas, compiled), dp-webgpu-eager, tfjs-node-gpu, torch'

const FLAGS = flagTable({
  run: { names: ['--run'], type: 'string', metavar: 'DIR', defaultHelp: 'none', help: 'write DIR/devices.md and DIR/devices.csv (the report includes them)' },
  out: { names: ['--out'], type: 'string', metavar: 'FILE.md', defaultHelp: 'none', help: 'write the table here (a .csv beside it)' },
  batch_size: { names: ['-b', '--batch-size'], type: 'positive int', metavar: 'N', defaultHelp: '64', help: 'images per step' },
  steps: { names: ['--steps'], type: 'positive int', metavar: 'N', default: 2, help: 'timed steps per configuration' },
  only: { names: ['--only'], type: 'string', metavar: 'LIST', defaultHelp: 'all', help: `rows to run: ${ROWS}` },
  skip_torch: { names: ['--skip-torch'], type: 'bool', defaultHelp: 'off', help: 'leave out the PyTorch CPU row' },
  help: { names: ['-h', '--help'], type: 'bool', help: 'show this help' },
})

async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS)
  if (values.help) {
    console.log(
      helpText(
        'pnpm resnet bench-devices (--run DIR | --out FILE.md) [-b N] [--steps N] [--only a,b] [--skip-torch]',
        'Time the same ResNet-18 training steps (64x64, 200 classes, SGD momentum) on each device configuration and PyTorch CPU.',
        FLAGS,
      ),
    )
    return 0
  }
  const out = values.out ?? (values.run === undefined ? undefined : path.join(values.run, 'devices.md'))
  if (out === undefined) throw new UsageError('one of the arguments --run --out is required')
  const { markdown } = await benchDevices({
    model: 'resnet18',
    batch: values.batch_size,
    steps: values.steps,
    only: values.only?.split(','),
    out,
    skipTorch: values.skip_torch,
  })
  console.log(markdown)
  console.log(`wrote ${out} and ${out.replace(/\.md$/u, '.csv')}`)
  return 0
}

export const benchDevicesCommand: Subcommand = { describe: 'time training on every device configuration (Markdown + CSV table)', run }
