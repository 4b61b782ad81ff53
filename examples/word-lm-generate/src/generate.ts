/**
 * `pnpm wordlm generate`: pytorch/examples word_language_model/generate.py. Loads a checkpoint written by
 * `pnpm wordlm train`, samples `--words` tokens and writes them to `--outf`, a newline after every 20th word.
 */
import { checkOutputFile } from '@tinylab/checkpoint-io'
import { initBackend } from '@tinylab/multi-device'
import { generate, loadLanguageModel } from '@tinylab/transformer-lm'
import { Corpus } from '@tinylab/wikitext-data'
import { createWriteStream, existsSync } from 'node:fs'
import { flagTable, helpText, parseFlags, UsageError } from '@tinylab/cli-flags'
import { compileForward } from '@tinylab/webgpu-backend'
import { DEVICES } from './main-train'

export const GENERATE_FLAGS = flagTable({
  data: { names: ['--data'], type: 'string', default: './data/wikitext-2', help: 'location of the data corpus' },
  checkpoint: { names: ['--checkpoint'], type: 'string', default: './model.pt', help: 'model checkpoint to use' },
  outf: { names: ['--outf'], type: 'string', default: 'generated.txt', help: 'output file for generated text' },
  words: { names: ['--words'], type: 'int', min: 0, default: 1000, help: 'number of words to generate' },
  seed: { names: ['--seed'], type: 'int', default: 1111, help: 'random seed' },
  temperature: { names: ['--temperature'], type: 'float', default: 1.0, help: 'temperature - higher will increase diversity' },
  log_interval: { names: ['--log-interval'], type: 'int', above: 0, default: 100, help: 'reporting interval' },
  device: { names: ['--device'], type: 'string', default: 'auto', help: 'TensorFlow.js backend; replaces --cuda/--mps/--accel', choices: DEVICES },
})

export async function generateMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('pnpm wordlm generate [flags]', 'PyTorch Wikitext-2 Language Model, on TensorFlow.js: generate text', GENERATE_FLAGS))
    return 0
  }
  const { values: a } = parseFlags(argv, GENERATE_FLAGS)
  if (a.temperature < 1e-3) throw new UsageError(`argument --temperature: ${a.temperature} has to be greater or equal 1e-3`)
  if (!existsSync(a.checkpoint)) throw new UsageError(`argument --checkpoint: '${a.checkpoint}' does not exist (train one with 'pnpm wordlm train --save ...')`)
  if (!existsSync(a.data)) throw new UsageError(`argument --data: '${a.data}' does not exist`)
  // The stream below reports a bad path only as an 'error' event after the model has run: check it first.
  checkOutputFile(a.outf, '--outf')

  const backend = await initBackend({ device: a.device })
  const { model, args } = await loadLanguageModel(a.checkpoint)
  const corpus = new Corpus(a.data)
  if (corpus.dictionary.length !== args.ntokens) {
    throw new Error(`--data ${a.data}: vocabulary has ${corpus.dictionary.length} words but the checkpoint's model has ${args.ntokens}`)
  }
  const words = a.words
  const out = createWriteStream(a.outf)
  let i = 0
  for await (const id of generate(model, { words, temperature: a.temperature, seed: a.seed, compile: backend.device === 'webgpu' ? compileForward : undefined })) {
    out.write(corpus.dictionary.idx2word[id] + (i % 20 === 19 ? '\n' : ' '))
    if (i % a.log_interval === 0) console.log(`| Generated ${i}/${words} words`)
    i++
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  model.dispose()
  return 0
}
