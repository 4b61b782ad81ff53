/**
 * `pnpm wordlm context-study`: trains (or loads) a Transformer, an LSTM and a gated convolutional LM with the same
 * budget on WikiText-2, measures how each uses context on the test split, and writes the report into --out.
 */
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import type { Device } from '@tinylab/multi-device'
import { batchify, Corpus } from '@tinylab/wikitext-data'
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { helpText, UsageError } from '@tinylab/cli-flags'
import { buildLanguageModel, type LanguageModel, loadLanguageModel, type ModelArgs, saveLanguageModel } from '@tinylab/transformer-lm'
import type { StudySettings } from './flags'
import { parseStudyFlags, studyHelpFlags } from './flags'
import { ConsoleProgress } from '@tinylab/metrics-logger'
import { contextWork, lossWithContext, sensitivityByDistance, sensitivityWork, targetPositions, testLoss } from './measure'
import type { StudyModelName } from './probe'
import { LSTM_FULL_WINDOW_FACTOR, probeFor, STUDY_MODELS } from './probe'
import type { ModelResult, StudyResults, TrainingRecord } from './report'
import { QUESTION, writeReport } from './report'
import { budgetBatches, timeTrainingSteps, trainForBudget } from './train'
import type { TrainBudget } from './train'

const CONTEXTS = [1, 2, 4, 8, 16, 32, 64, 128]

function modelArgs(name: StudyModelName, s: StudySettings, ntokens: number): ModelArgs {
  const common = { ntokens, emsize: s.emsize, nhid: s.nhid, nhead: s.nhead, dropout: s.dropout, tied: false, seed: s.seed }
  if (name === 'GCNN') return { ...common, model: 'GCNN', nlayers: s.gcnnLayers, kernel_size: s.kernelSize }
  return { ...common, model: name, nlayers: s.nlayers }
}

/** Output paths and inputs checked before any work, so a bad flag costs seconds, not a training run. */
function checkPaths(s: StudySettings): void {
  if (!existsSync(s.data)) throw new UsageError(`argument --data: '${s.data}' does not exist (expected a folder with train.txt, valid.txt, test.txt)`)
  if (s.checkpoints !== '') {
    for (const name of STUDY_MODELS) {
      const file = path.join(s.checkpoints, `${name}.pt`)
      if (!existsSync(file)) throw new UsageError(`argument --checkpoints: '${file}' does not exist (the folder needs Transformer.pt, LSTM.pt and GCNN.pt)`)
    }
  }
  if (existsSync(s.out) && !statSync(s.out).isDirectory()) throw new UsageError(`argument --out: '${s.out}' exists and is not a folder`)
  try {
    mkdirSync(s.checkpoints === '' ? path.join(s.out, 'checkpoints') : s.out, { recursive: true })
    accessSync(s.out, constants.W_OK)
  } catch (error) {
    throw new UsageError(`argument --out: cannot write to '${s.out}' (${(error as Error).message})`)
  }
}

function countParameters(model: LanguageModel): { total: number; core: number } {
  let total = 0
  let core = 0
  for (const p of model.parameters()) {
    total += p.value.size
    if (!/^(encoder\.weight|input_emb\.weight|decoder\.(weight|bias))$/.test(p.name)) core += p.value.size
  }
  return { total, core }
}

function trainingFromCheckpoint(ckpt: Record<string, unknown>): TrainingRecord | undefined {
  const t = ckpt['study_training']
  if (t === null || typeof t !== 'object') return undefined
  const r = t as Record<string, unknown>
  const keys = ['batches', 'tokens', 'seconds', 'batchesPerEpoch', 'lr', 'finalLoss'] as const
  if (!keys.every((k) => typeof r[k] === 'number')) return undefined
  const record = Object.fromEntries(keys.map((k) => [k, r[k] as number])) as unknown as TrainingRecord
  const load = r['loadAverage']
  if (Array.isArray(load) && load.length === 2 && load.every((v) => typeof v === 'number')) record.loadAverage = [load[0] as number, load[1] as number]
  return record
}

const sameArgs = (a: ModelArgs, b: ModelArgs) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort())

/**
 * A model this command already trained into --out/checkpoints with the same settings and the whole budget, so an
 * interrupted or repeated study trains only what is missing; undefined when there is none (or it differs).
 */
async function reusableCheckpoint(file: string, args: ModelArgs, budget: TrainBudget, batches: number): Promise<{ model: LanguageModel; training: TrainingRecord } | undefined> {
  if (!existsSync(file)) return undefined
  const loaded = await loadLanguageModel(file)
  const training = trainingFromCheckpoint(loaded.checkpoint)
  if (sameArgs(loaded.args, args) && training !== undefined && training.batches === batches && training.lr === budget.lr) return { model: loaded.model, training }
  loaded.model.dispose()
  console.error(`${file}: trained with other settings or interrupted; training again`)
  return undefined
}

export async function contextStudyMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('pnpm wordlm context-study [flags]', `${QUESTION} Trains a Transformer, an LSTM and a gated CNN with the same budget and measures their use of context.`, studyHelpFlags()))
    return 0
  }
  const s = parseStudyFlags(argv)
  checkPaths(s)
  const backend = await initBackend({ device: s.device as Device })
  console.error(`backend: ${backend.backend} (${backend.reason})`)
  const corpus = new Corpus(s.data)
  const ntokens = corpus.dictionary.length
  const trainSource = batchify(corpus.train, s.batchSize)
  const stream = s.evalTokens > 0 ? corpus.test.subarray(0, s.evalTokens) : corpus.test
  const contexts = CONTEXTS.filter((k) => k <= s.bptt)
  // Every target keeps the longest context any row needs before it: the LSTM's full window or the GCNN's field.
  const firstTarget = Math.max(LSTM_FULL_WINDOW_FACTOR * s.bptt, s.gcnnLayers * (s.kernelSize - 1) + 1)
  const targets = targetPositions(stream.length, firstTarget, s.targets)
  const samples = targetPositions(stream.length, s.bptt, s.sensitivitySamples)

  let interrupted = false
  const onSigint = () => {
    interrupted = true
  }
  process.on('SIGINT', onSigint)
  const results: ModelResult[] = []
  try {
    for (const name of STUDY_MODELS) {
      let model: LanguageModel | undefined
      let training: TrainingRecord | undefined
      const args = modelArgs(name, s, ntokens)
      const budget = { epochs: s.epochs, maxBatches: s.maxBatches, batchSize: s.batchSize, bptt: s.bptt, lr: s.lr[name], clip: s.clip }
      const file = path.join(s.out, 'checkpoints', `${name}.pt`)
      if (s.checkpoints !== '') {
        const loaded = await loadLanguageModel(path.join(s.checkpoints, `${name}.pt`))
        if (loaded.args.ntokens !== ntokens) throw new Error(`${path.join(s.checkpoints, `${name}.pt`)}: the model has ${loaded.args.ntokens} words, --data ${s.data} has ${ntokens}`)
        model = loaded.model
        training = trainingFromCheckpoint(loaded.checkpoint)
      } else {
        const reused = await reusableCheckpoint(file, args, budget, budgetBatches(trainSource, budget))
        if (reused) {
          console.error(`${name}: reusing ${file} (${reused.training.batches} batches, trained by an earlier run with these settings)`)
          ;({ model, training } = reused)
        }
      }
      if (model === undefined) {
        model = buildLanguageModel(args)
        const stats = await trainForBudget(model, trainSource, budget, name, () => interrupted)
        training = { batches: stats.batches, tokens: stats.tokens, seconds: stats.seconds, batchesPerEpoch: stats.batchesPerEpoch, lr: budget.lr, finalLoss: stats.finalLoss, loadAverage: stats.loadAverage }
        await saveLanguageModel(file, model, args, { study_training: { ...training } })
        console.error(`${name}: ${stats.batches} batches in ${stats.seconds.toFixed(1)}s, saved ${file}`)
        if (stats.interrupted) {
          console.error(`wordlm: interrupted; ${file} holds ${name} after ${stats.batches} batches. The same command again reuses the models already trained and trains the rest.`)
          model.dispose()
          return 130
        }
      }
      const probe = probeFor(name, model, s.bptt)
      console.error(`${name}: measuring (perplexity, ${contexts.length + 1} context lengths × ${targets.length} targets, sensitivity over ${samples.length} sequences)`)
      const extraFull = contexts.includes(probe.fullWindow) ? [] : [probe.fullWindow]
      const progress = new ConsoleProgress({
        total: [...contexts, ...extraFull].reduce((sum, k) => sum + contextWork(targets.length, k), 0) + sensitivityWork(samples.length, s.bptt),
        label: `measure ${name} (context tokens)`,
      })
      const loss = await testLoss(probe, stream, s.bptt)
      const contextLoss = (k: number) => lossWithContext(probe, stream, targets, k, (n) => progress.tick(n, `k=${k}`))
      const lossVsContext: ModelResult['lossVsContext'] = []
      for (const k of contexts) lossVsContext.push({ k, full: false, loss: await contextLoss(k) })
      const fullLoss = extraFull.length === 0 ? lossVsContext.find((r) => r.k === probe.fullWindow)!.loss : await contextLoss(probe.fullWindow)
      lossVsContext.push({ k: probe.fullWindow, full: true, loss: fullLoss })
      const sensitivity = await sensitivityByDistance(probe, stream, samples, s.bptt, (n) => progress.tick(n, 'sensitivity'))
      progress.done()
      const peak = Math.max(...sensitivity)
      const params = countParameters(model)
      results.push({
        name,
        parameters: params.total,
        coreParameters: params.core,
        fullWindow: probe.fullWindow,
        windowNote: probe.windowNote,
        receptiveField: probe.receptiveField,
        training,
        timedTokensPerSecond: undefined,
        testLoss: loss,
        lossVsContext,
        sensitivity: [...sensitivity],
        sensitivityNormalised: [...sensitivity].map((v) => (peak > 0 ? v / peak : 0)),
      })
      console.error(`${name}: test ppl ${Math.exp(loss).toFixed(2)}; tensors in memory ${tf.memory().numTensors}`)
      model.dispose()
      if (interrupted) {
        console.error('wordlm: interrupted during the measurements; nothing written')
        return 130
      }
    }
    if (s.speedSteps > 0 && !interrupted) {
      const builders = Object.fromEntries(STUDY_MODELS.map((name) => [name, () => buildLanguageModel(modelArgs(name, s, ntokens))]))
      const rates = await timeTrainingSteps(builders, trainSource, { batchSize: s.batchSize, bptt: s.bptt, lr: s.lr.Transformer, clip: s.clip }, s.speedSteps, s.speedRounds)
      for (const r of results) r.timedTokensPerSecond = rates[r.name]
    }
  } finally {
    process.off('SIGINT', onSigint)
  }

  const budgetText = s.checkpoints !== ''
    ? `loaded from ${s.checkpoints} (see each model's train batches)`
    : `${s.maxBatches > 0 ? `${s.maxBatches} batches (at most ${s.epochs} epoch(s))` : `${s.epochs} epoch(s)`} of ${s.batchSize}×${s.bptt}-token batches of WikiText-2 train per model, ` +
      `SGD at a fixed lr (Transformer ${s.lr.Transformer}, LSTM ${s.lr.LSTM}, GCNN ${s.lr.GCNN}), clip ${s.clip}, dropout ${s.dropout}, seed ${s.seed}; ` +
      `emsize ${s.emsize}, nhid ${s.nhid}, ${s.nlayers} Transformer/LSTM layers (${s.nhead} heads), ${s.gcnnLayers} GCNN layers of width ${s.kernelSize}`
  const study: StudyResults = {
    question: QUESTION,
    quick: s.quick,
    backend: backend.backend,
    budget: budgetText,
    timing: s.speedSteps > 0 ? `${s.speedRounds} alternating round(s) of ${s.speedSteps} training steps of a fresh ${s.batchSize}×${s.bptt} model after one warm-up step, best round` : 'not timed (--speed-steps 0)',
    evaluation: { testTokens: stream.length, targets: targets.length, sensitivitySamples: samples.length, window: s.bptt, contexts },
    models: results,
  }
  for (const file of writeReport(s.out, study)) console.log(`wrote ${file}`)
  return 0
}
