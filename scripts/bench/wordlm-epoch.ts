/**
 * `pnpm bench wordlm-epoch [--epochs 1] [--threads 2] [--device auto] [--out DIR] [--data DIR] [--words 1000] [--max-batches N]`
 *
 * Issue 6's long benchmark (not CI): word_language_model's Transformer (lr 5, main.py defaults) trained for whole epochs
 * of WikiText-2 by PyTorch CPU (examples/word-lm-generate/reference/main.py, Debian torch + OpenBLAS-openmp) and then by
 * `pnpm wordlm train`, one after the other on the same machine with the same thread count; then `pnpm wordlm generate`
 * writes a sample from our saved model. DIR gets both logs, generated.txt and summary.{json,md}: validation ppl of each,
 * their relative difference, and the epoch-time ratio. Run under `flock /tmp/bench.lock` on an otherwise idle machine.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { REPO_ROOT, flag } from './_child'
import { torchBenchEnv } from '@tinylab/test-utils/torch'

interface EpochLine {
  epoch: number
  seconds: number
  validLoss: number
  validPpl: number
}

interface RunSummary {
  epochs: EpochLine[]
  test: { loss: number; ppl: number } | undefined
  meanMsPerBatch: number | undefined
  wallSeconds: number
}

/** Runs a command, streaming its output to the console and to `logFile`; resolves with everything it printed. */
function runLogged(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile)
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    const take = (chunk: Buffer): void => {
      text += chunk.toString()
      log.write(chunk)
      process.stderr.write(chunk)
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.on('error', reject)
    child.on('close', (code) => {
      log.end()
      if (code === 0) resolve(text)
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}; see ${logFile}`))
    })
  })
}

/** Reads main.py's log lines (ours prints the same ones). */
export function summarizeLog(text: string, wallSeconds: number): RunSummary {
  const epochs = [...text.matchAll(/\| end of epoch\s+(\d+) \| time:\s*([\d.]+)s \| valid loss\s+([\d.]+) \| valid ppl\s+([\d.]+)/g)].map((m) => ({
    epoch: Number(m[1]),
    seconds: Number(m[2]),
    validLoss: Number(m[3]),
    validPpl: Number(m[4]),
  }))
  const test = /\| End of training \| test loss\s+([\d.]+) \| test ppl\s+([\d.]+)/.exec(text)
  const ms = [...text.matchAll(/ms\/batch\s+([\d.]+)/g)].map((m) => Number(m[1]))
  return {
    epochs,
    test: test ? { loss: Number(test[1]), ppl: Number(test[2]) } : undefined,
    meanMsPerBatch: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : undefined,
    wallSeconds,
  }
}

export async function run(args: string[]): Promise<void> {
  const epochs = flag(args, 'epochs') ?? '1'
  const threads = flag(args, 'threads') ?? '2'
  const device = flag(args, 'device') ?? 'auto'
  const words = flag(args, 'words') ?? '1000'
  const data = path.resolve(REPO_ROOT, flag(args, 'data') ?? '../shared/data/wikitext-2')
  const out = path.resolve(REPO_ROOT, flag(args, 'out') ?? `examples/word-lm-generate/results/epoch${epochs}`)
  mkdirSync(out, { recursive: true })
  const models = path.join(os.tmpdir(), 'tinylab-wordlm-epoch')
  mkdirSync(models, { recursive: true })
  const env = torchBenchEnv({ OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads })
  const maxBatches = flag(args, 'max-batches') // a quick check of this script; the benchmark itself runs whole epochs
  const common = ['--data', data, '--model', 'Transformer', '--lr', '5', '--epochs', epochs, ...(maxBatches ? ['--max-batches', maxBatches] : [])]

  let t0 = performance.now()
  const torchText = await runLogged(
    '/usr/bin/python3',
    [path.join(REPO_ROOT, 'examples/word-lm-generate/reference/main.py'), ...common, '--threads', threads, '--save', path.join(models, 'reference.pt')],
    path.join(out, 'pytorch-cpu.log'),
    env,
  )
  const torch = summarizeLog(torchText, (performance.now() - t0) / 1000)

  const viteNode = path.join(REPO_ROOT, 'node_modules/vite-node/vite-node.mjs')
  const wordlm = [viteNode, '--config', 'vite.config.ts', 'examples/word-lm-generate/src/main.ts', '--']
  const ourModel = path.join(models, 'tinylab.pt')
  t0 = performance.now()
  const oursText = await runLogged(process.execPath, [...wordlm, 'train', ...common, '--device', device, '--save', ourModel], path.join(out, 'tinylab.log'), env)
  const ours = summarizeLog(oursText, (performance.now() - t0) / 1000)
  await runLogged(
    process.execPath,
    [...wordlm, 'generate', '--data', data, '--checkpoint', ourModel, '--words', words, '--device', device, '--outf', path.join(out, 'generated.txt')],
    path.join(out, 'generate.log'),
    env,
  )

  const last = (s: RunSummary): EpochLine | undefined => s.epochs[s.epochs.length - 1]
  const lt = last(torch)
  const lo = last(ours)
  const summary = {
    bench: 'wordlm-epoch',
    setup: `Transformer, lr 5, main.py defaults, ${epochs} epoch(s), ${threads} threads, device ${device}; machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores`,
    pytorch: torch,
    tinylab: ours,
    validPplRelativeDifference: lt && lo ? (lo.validPpl - lt.validPpl) / lt.validPpl : undefined,
    epochTimeRatioOursOverPytorch: lt && lo ? lo.seconds / lt.seconds : undefined,
  }
  writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  const pct = (v: number | undefined): string => (v === undefined ? '—' : `${(100 * v).toFixed(2)}%`)
  const md = [
    `# word_language_model Transformer, ${epochs} epoch(s) on WikiText-2: TinyLab vs PyTorch CPU`,
    '',
    summary.setup,
    '',
    '| run | valid ppl (last epoch) | test ppl | epoch time | mean ms/batch |',
    '|---|---:|---:|---:|---:|',
    `| PyTorch CPU (reference/main.py) | ${lt?.validPpl ?? '—'} | ${torch.test?.ppl ?? '—'} | ${lt?.seconds ?? '—'} s | ${torch.meanMsPerBatch?.toFixed(1) ?? '—'} |`,
    `| TinyLab (\`pnpm wordlm train --device ${device}\`) | ${lo?.validPpl ?? '—'} | ${ours.test?.ppl ?? '—'} | ${lo?.seconds ?? '—'} s | ${ours.meanMsPerBatch?.toFixed(1) ?? '—'} |`,
    '',
    `Validation ppl, ours vs PyTorch: ${pct(summary.validPplRelativeDifference)} (bar: within 3%). Epoch time, ours / PyTorch: ${summary.epochTimeRatioOursOverPytorch?.toFixed(2) ?? '—'}×.`,
    '',
    'Logs: pytorch-cpu.log, tinylab.log; sample: generated.txt (`pnpm wordlm generate`, temperature 1.0, seed 1111).',
    '',
  ].join('\n')
  writeFileSync(path.join(out, 'summary.md'), md)
  console.log(md)
  console.log(JSON.stringify(summary))
}
