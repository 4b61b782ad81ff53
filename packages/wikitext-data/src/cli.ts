#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { formatProgress } from '@tinylab/dataset-download'
import { WIKITEXT2_RAW_BASE_URL, downloadWikiText } from './download'
import { Corpus } from './corpus'

const HELP = `usage: wikitext <command> [options]

commands:
  download [--dir DIR] [--url URL] [--sha256 HEX] [--no-verify]
      fetch WikiText-2 (train.txt, valid.txt, test.txt) into DIR, resuming partial files
      --dir DIR       target folder (default: ./data/wikitext-2)
      --url URL       base URL of the three .txt files, or a .zip such as wikitext-2-v1.zip
                      (default: ${WIKITEXT2_RAW_BASE_URL})
      --sha256 HEX    expected sha256 of the zip (zip URLs only)
      --no-verify     skip the built-in size/sha256 check of the default files
  stats [--dir DIR]
      print vocabulary size and token counts as data.py's Corpus sees them
  help
      this text`

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv
  // Node's own parser: a flag without its value or an unknown flag is an error that names it.
  const { values } = parseArgs({
    args,
    options: { dir: { type: 'string' }, url: { type: 'string' }, sha256: { type: 'string' }, 'no-verify': { type: 'boolean' } },
  })
  const dir = values.dir ?? './data/wikitext-2'
  if (command === 'download') {
    let last = ''
    const r = await downloadWikiText({
      dir,
      url: values.url,
      sha256: values.sha256,
      verify: values['no-verify'] === true ? false : undefined,
      onProgress: (p) => {
        const line = `${p.url.split('/').pop() ?? ''}: ${formatProgress(p)}`
        if (line !== last) process.stderr.write(`\r${line}\x1b[K`)
        last = line
      },
    })
    process.stderr.write('\n')
    console.log(r.cached ? `${r.dir}: already complete` : `${r.dir}: ${r.files.map((f) => f.split('/').pop()).join(', ')}`)
  } else if (command === 'stats') {
    const c = new Corpus(dir)
    console.log(`vocab ${c.dictionary.length}, tokens train ${c.train.length}, valid ${c.valid.length}, test ${c.test.length}`)
  } else if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(HELP)
  } else {
    throw new Error(`unknown command "${command}" (commands: download, stats, help)`)
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`wikitext: ${(e as Error).message}`)
  process.exit(1)
})
