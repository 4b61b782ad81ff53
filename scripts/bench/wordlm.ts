/**
 * `pnpm bench wordlm [--steps N] [--threads T] [--device wasm|wasm+native|webgpu] [--data DIR] [--rounds 3] [--profile]`: ms/batch of one word_language_model Transformer training
 * step (main.py defaults: emsize 200, nhid 200, nlayers 2, nhead 2, dropout 0.2, batch 20, bptt 35, clip 0.25, real
 * WikiText-2 vocabulary of 33,278 words) on our wasm backend, and PyTorch CPU's on the same machine in the same run
 * (Debian torch 1.13, libblas -> OpenBLAS-openmp, T threads), then the ratio of each side's best of --rounds
 * alternating rounds of N steps. Run under `flock /tmp/bench.lock`.
 */
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { SGD, trainStepAsync } from '@tinylab/train-loop'
import { nllLoss, TransformerModel } from '@tinylab/transformer-lm'
import { batchify, batchStarts, Corpus, getBatch } from '@tinylab/wikitext-data'
import { torchBenchEnv } from '@tinylab/test-utils/torch'
import { profileStep } from './_profile'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback
}

export async function run(args: string[]): Promise<void> {
  const steps = Number(flag(args, '--steps', '10'))
  const rounds = Number(flag(args, '--rounds', '3'))
  const threads = Number(flag(args, '--threads', '2'))
  const device = flag(args, '--device', 'wasm')
  if (device !== 'wasm' && device !== 'wasm+native' && device !== 'webgpu') {
    throw new Error(`--device: invalid choice '${device}' (choose from 'wasm', 'wasm+native', 'webgpu')`)
  }
  const data = path.resolve(ROOT, flag(args, '--data', '../shared/data/wikitext-2'))

  const corpus = new Corpus(data)
  const train = batchify(corpus.train, 20)
  const starts = batchStarts(train, 35)
  const ntokens = corpus.dictionary.length

  const info = await initBackend(device === 'webgpu' ? { device } : { device, threads })
  const model = new TransformerModel({ ntoken: ntokens, ninp: 200, nhead: 2, nhid: 200, nlayers: 2, dropout: 0.2, seed: 1111 })
  const params = model.parameters()
  const sgd = new SGD(params, { lr: 5 })
  const step = async (k: number) => {
    const { data: x, target } = getBatch(train, starts[k % starts.length] as number, 35)
    const r = await trainStepAsync({ params, optimizer: sgd, clipNorm: 0.25, loss: () => nllLoss(model.forward(x, { training: true }), target) })
    tf.dispose([x, target])
    return r.loss
  }
  await step(0) // warm-up: kernel setup and first allocations
  await step(1)
  if (args.includes('--profile')) await profileStep(async () => void (await step(1)))
  const torchStep = (): number => {
    const out = execFileSync(
      '/usr/bin/python3',
      [path.join(ROOT, 'examples/word-lm-generate/reference/main.py'), '--data', data, '--model', 'Transformer', '--lr', '5', '--threads', String(threads), '--time-steps', String(steps)],
      { env: torchBenchEnv({ OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) }), encoding: 'utf8' },
    )
    return (JSON.parse(out.trim().split('\n').pop() as string) as { ms_per_batch: number }).ms_per_batch
  }
  // Rounds alternate ours and PyTorch, so a slow spell of a shared machine hits both sides alike; each side's best
  // round is the figure (timeit's min).
  const oursRounds: number[] = []
  const torchRounds: number[] = []
  let k = 2
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now()
    for (let i = 0; i < steps; i++) await step(k++)
    oursRounds.push((performance.now() - t0) / steps)
    torchRounds.push(torchStep())
  }
  model.dispose()
  sgd.dispose()
  const oursMs = Math.min(...oursRounds)
  const torchMs = Math.min(...torchRounds)
  const result = {
    bench: 'wordlm',
    step: 'Transformer train step (batch 20, bptt 35, emsize 200, nhid 200, nlayers 2, nhead 2, ntokens ' + ntokens + ')',
    steps,
    ours: { backend: info.backend, threads: info.threads ?? null, simd: info.simd ?? null, ms_per_batch: Number(oursMs.toFixed(1)) },
    pytorch: { version: '1.13 (Debian, OpenBLAS-openmp)', threads, ms_per_batch: Number(torchMs.toFixed(1)) },
    ratio_ours_over_pytorch: Number((oursMs / torchMs).toFixed(2)),
    ms_per_batch_by_round: { ours: oursRounds.map((v) => Number(v.toFixed(1))), pytorch: torchRounds.map((v) => Number(v.toFixed(1))) },
  }
  console.log(JSON.stringify(result))
  console.log(`${info.backend} ${oursMs.toFixed(1)} ms/batch | PyTorch CPU ${torchMs.toFixed(1)} ms/batch | ratio ${(oursMs / torchMs).toFixed(2)}x`)
}
