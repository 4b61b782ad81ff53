/**
 * `pnpm wordlm train|generate [flags]`: pytorch/examples word_language_model's main.py and generate.py.
 * User errors print one line to stderr and exit 2 (argparse's status); nothing prints a stack for them.
 */
import { UsageError } from '@tinylab/cli-flags'
import { ModelArgsError } from '@tinylab/transformer-lm'
import { contextStudyMain } from './context-study/main'
import { generateMain } from './generate'
import { trainMain } from './main-train'

const USAGE = `usage: pnpm wordlm <command> [flags]

commands:
  train      train a word-level language model on WikiText-2 (word_language_model/main.py)
  generate   sample text from a saved model (word_language_model/generate.py)
  context-study  Transformer vs LSTM vs gated CNN: how each uses context, measured (report.md, plots, CSV)

Run 'pnpm wordlm <command> --help' for the flags of each.`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(USAGE)
    return command === undefined ? 2 : 0
  }
  if (command === 'train') return trainMain(rest)
  if (command === 'generate') return generateMain(rest)
  if (command === 'context-study') return contextStudyMain(rest)
  throw new UsageError(`invalid command: '${command}' (choose from 'train', 'generate', 'context-study')`)
}

const argv = process.argv.slice(2)
if (argv[0] === '--') argv.shift()
main(argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ModelArgsError) {
      console.error(`wordlm: error: ${err.message}`)
      process.exit(2)
    }
    // Runtime errors (missing data, bad checkpoint) are messages for the user too; WORDLM_DEBUG=1 shows the stack.
    console.error(`wordlm: error: ${err instanceof Error ? (process.env.WORDLM_DEBUG ? err.stack : err.message) : String(err)}`)
    process.exit(1)
  },
)
