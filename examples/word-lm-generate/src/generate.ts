/**
 * `pnpm wordlm generate`: pytorch/examples word_language_model/generate.py. Loads a checkpoint written by
 * `pnpm wordlm train`, samples `--words` tokens and writes them to `--outf`, a newline after every 20th word.
 */
import { checkOutputFile } from '@tinylab/checkpoint-io'
import { initBackend } from '@tinylab/multi-device'
import type { Device } from '@tinylab/multi-device'
import { generate } from '@tinylab/transformer-lm'
import { Corpus } from '@tinylab/wikitext-data'
import { createWriteStream, existsSync } from 'node:fs'
import type { FlagSpec } from './cli-args'
import { helpText, parseFlags, UsageError } from './cli-args'
import { DEVICES } from './main-train'
import { loadModel } from './model-io'

export const GENERATE_FLAGS: FlagSpec[] = [
  { name: '--data', type: 'string', default: './data/wikitext-2', help: 'location of the data corpus' },
  { name: '--checkpoint', type: 'string', default: './model.pt', help: 'model checkpoint to use' },
  { name: '--outf', type: 'string', default: 'generated.txt', help: 'output file for generated text' },
  { name: '--words', type: 'int', default: 1000, help: 'number of words to generate' },
  { name: '--seed', type: 'int', default: 1111, help: 'random seed' },
  { name: '--temperature', type: 'float', default: 1.0, help: 'temperature - higher will increase diversity' },
  { name: '--log-interval', type: 'int', default: 100, help: 'reporting interval' },
  { name: '--device', type: 'string', default: 'auto', help: 'TensorFlow.js backend; replaces --cuda/--mps/--accel', choices: DEVICES },
]

export async function generateMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('pnpm wordlm generate [flags]', 'PyTorch Wikitext-2 Language Model, on TensorFlow.js: generate text', GENERATE_FLAGS))
    return 0
  }
  const a = parseFlags(argv, GENERATE_FLAGS)
  if ((a.temperature as number) < 1e-3) throw new UsageError(`argument --temperature: ${a.temperature} has to be greater or equal 1e-3`)
  if (!((a.words as number) >= 0)) throw new UsageError(`argument --words: invalid value: ${a.words} (must be >= 0)`)
  if (!((a.log_interval as number) > 0)) throw new UsageError(`argument --log-interval: invalid value: ${a.log_interval} (must be > 0)`)
  if (!existsSync(a.checkpoint as string)) throw new UsageError(`argument --checkpoint: '${a.checkpoint}' does not exist (train one with 'pnpm wordlm train --save ...')`)
  if (!existsSync(a.data as string)) throw new UsageError(`argument --data: '${a.data}' does not exist`)
  // The stream below reports a bad path only as an 'error' event after the model has run: check it first.
  checkOutputFile(a.outf as string, '--outf')

  await initBackend({ device: a.device as Device })
  const { model, args } = await loadModel(a.checkpoint as string)
  const corpus = new Corpus(a.data as string)
  if (corpus.dictionary.length !== args.ntokens) {
    throw new Error(`--data ${a.data}: vocabulary has ${corpus.dictionary.length} words but the checkpoint's model has ${args.ntokens}`)
  }
  const words = a.words as number
  const out = createWriteStream(a.outf as string)
  let i = 0
  for await (const id of generate(model, { words, temperature: a.temperature as number, seed: a.seed as number })) {
    out.write(corpus.dictionary.idx2word[id] + (i % 20 === 19 ? '\n' : ' '))
    if (i % (a.log_interval as number) === 0) console.log(`| Generated ${i}/${words} words`)
    i++
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  model.dispose()
  return 0
}
