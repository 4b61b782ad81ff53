/**
 * `pnpm resnet <command> [flags]`: the ResNet / Tiny-ImageNet experiment, mirroring pytorch/examples imagenet/main.py.
 * Each subcommand lives in its own `<name>-command.ts` and registers in the table below. User errors print one line to
 * stderr and exit 2 (argparse's status), without a stack.
 */
import { benchDevicesCommand } from './bench-devices-command'
import { downloadCommand, prepareValCommand } from './data-commands'
import { reportCommand } from './report-command'
import { summaryCommand } from './summary-command'
import { trainCommand } from './train-command'
import { UsageError } from '@tinylab/cli-flags'
import type { Subcommand } from './subcommand'

const commands: Record<string, Subcommand> = {
  summary: summaryCommand,
  train: trainCommand,
  report: reportCommand,
  'bench-devices': benchDevicesCommand,
  download: downloadCommand,
  'prepare-val': prepareValCommand,
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length)) + 3
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}${c.describe}`)
  return ['usage: pnpm resnet <command> [flags]', '', 'commands:', ...lines, '', "Run 'pnpm resnet <command> --help' for its flags."].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help') {
    console.log(usage())
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
  if (!command) throw new UsageError(`invalid command: '${name}' (choose from ${Object.keys(commands).map((c) => `'${c}'`).join(', ')})`)
  return command.run(rest)
}

const argv = process.argv.slice(2)
if (argv[0] === '--') argv.shift()
main(argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`resnet: error: ${err.message}`)
      process.exit(2)
    }
    console.error(`resnet: error: ${err instanceof Error ? (process.env.RESNET_DEBUG ? err.stack : err.message) : String(err)}`)
    process.exit(1)
  },
)
