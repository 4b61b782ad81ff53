/**
 * `pnpm wordlm train`: pytorch/examples word_language_model/main.py, line for line where it matters: the same flags
 * and defaults, plain SGD (`p -= lr·grad`) after clip_grad_norm_, lr /= 4 when validation loss does not improve,
 * the best model saved, Ctrl-C ending training but not the test evaluation, and the same log lines.
 */
import * as tf from '@tensorflow/tfjs-core'
import { formatPython } from '@tinylab/metrics-logger'
import { createDataParallel, initBackend } from '@tinylab/multi-device'
import type { DataParallel, Device } from '@tinylab/multi-device'
import { DivideLrOnPlateau, SGD, trainStepAsync } from '@tinylab/train-loop'
import { nllLoss, RNNModel } from '@tinylab/transformer-lm'
import type { RNNHidden } from '@tinylab/transformer-lm'
import { batchStarts, Corpus, getBatch, numBatches } from '@tinylab/wikitext-data'
import type { TokenMatrix } from '@tinylab/wikitext-data'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FlagSpec, FlagValues } from './cli-args'
import { dest, helpText, parseFlags, UsageError } from './cli-args'
import type { ModelArgs } from './model-io'
import { buildModel, DEFAULT_KERNEL_SIZE, loadWeightsInto, MODEL_CHOICES, saveModel } from './model-io'
import { batchifySplit, checkSavePath } from './train-guards'
import { compiledLmStep } from './compiled-train-step'

export const DEVICES = ['auto', 'wasm', 'wasm+native', 'cpu', 'webgpu', 'tensorflow'] as const

export const TRAIN_FLAGS: FlagSpec[] = [
  { name: '--data', type: 'string', default: './data/wikitext-2', help: 'location of the data corpus' },
  { name: '--model', type: 'string', default: 'LSTM', help: `type of network (${MODEL_CHOICES.join(', ')})`, choices: MODEL_CHOICES },
  { name: '--emsize', type: 'int', default: 200, help: 'size of word embeddings' },
  { name: '--nhid', type: 'int', default: 200, help: 'number of hidden units per layer' },
  { name: '--nlayers', type: 'int', default: 2, help: 'number of layers' },
  { name: '--lr', type: 'float', default: 20, help: 'initial learning rate' },
  { name: '--clip', type: 'float', default: 0.25, help: 'gradient clipping' },
  { name: '--epochs', type: 'int', default: 40, help: 'upper epoch limit' },
  { name: '--batch_size', aliases: ['--batch-size'], type: 'int', default: 20, help: 'batch size' },
  { name: '--bptt', type: 'int', default: 35, help: 'sequence length' },
  { name: '--dropout', type: 'float', default: 0.2, help: 'dropout applied to layers (0 = no dropout)' },
  { name: '--tied', type: 'bool', default: false, help: 'tie the word embedding and softmax weights' },
  { name: '--seed', type: 'int', default: 1111, help: 'random seed' },
  { name: '--log-interval', type: 'int', default: 200, help: 'report interval' },
  { name: '--save', type: 'string', default: 'model.pt', help: 'path to save the final model (.pt/.pth: torch zip; .safetensors)' },
  { name: '--onnx-export', type: 'string', default: '', help: 'path to export the final model in onnx format (not supported in TinyLab)' },
  { name: '--nhead', type: 'int', default: 2, help: 'the number of heads in the encoder/decoder of the transformer model' },
  { name: '--kernel-size', type: 'int', default: DEFAULT_KERNEL_SIZE, help: 'GCNN convolution width (receptive field: nlayers·(kernel_size−1)+1 tokens)' },
  { name: '--dry-run', type: 'bool', default: false, help: 'verify the code and the model' },
  { name: '--device', type: 'string', default: 'auto', help: 'TensorFlow.js backend; replaces --cuda/--mps/--accel', choices: DEVICES },
  { name: '--devices', type: 'int', default: 1, help: 'data-parallel replicas (worker threads, each its own --device backend and batch_size/N columns); Transformer only' },
  { name: '--max-batches', type: 'int', default: 0, help: 'smoke runs: stop each training and evaluation pass after batch N (so the log line at N prints), 0 = all' },
]

const EVAL_BATCH_SIZE = 10

function positive(values: FlagValues, names: string[]): void {
  for (const n of names) {
    const v = values[n] as number
    const flag = TRAIN_FLAGS.find((f) => dest(f.name) === n)?.name ?? n
    if (!(v > 0)) throw new UsageError(`argument ${flag}: invalid value: ${v} (must be > 0)`)
  }
}

export async function trainMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('pnpm wordlm train [flags]', 'PyTorch Wikitext-2 RNN/LSTM/GRU/Transformer/GCNN Language Model, on TensorFlow.js', TRAIN_FLAGS))
    return 0
  }
  const a = parseFlags(argv, TRAIN_FLAGS)
  positive(a, ['emsize', 'nhid', 'nlayers', 'epochs', 'batch_size', 'bptt', 'log_interval', 'nhead'])
  if (!((a.dropout as number) >= 0 && (a.dropout as number) < 1)) throw new UsageError(`argument --dropout: invalid value: ${a.dropout} (must be in [0, 1))`)
  const devices = a.devices as number
  if (devices < 1) throw new UsageError(`argument --devices: invalid value: ${devices} (must be >= 1)`)
  if (devices > 1 && a.model !== 'Transformer') {
    throw new UsageError(`argument --devices: ${devices} replicas need --model Transformer (the ${a.model} model carries its hidden state from batch to batch)`)
  }
  if (devices > (a.batch_size as number)) throw new UsageError(`argument --devices: ${devices} replicas for --batch_size ${a.batch_size} (each needs at least one column)`)
  if ((a.max_batches as number) < 0) throw new UsageError(`argument --max-batches: invalid value: ${a.max_batches} (must be >= 0)`)
  if (a.onnx_export !== '') throw new UsageError(`argument --onnx-export: ONNX export is not supported in TinyLab (got '${a.onnx_export}'); use the saved checkpoint`)
  if (!existsSync(a.data as string)) throw new UsageError(`argument --data: '${a.data}' does not exist (expected a folder with train.txt, valid.txt, test.txt)`)
  // The first save comes after a whole epoch: a path that cannot be written must fail now (space is checked below).
  checkSavePath(a.save as string, 0)

  const backend = await initBackend({ device: a.device as Device })
  console.error(`backend: ${backend.backend} (${backend.reason})`)

  const corpus = new Corpus(a.data as string)
  const bptt = a.bptt as number
  const maxBatches = a.max_batches as number
  const trainData = batchifySplit(corpus.train, a.batch_size as number, a.data as string, 'train', '--batch_size')
  const valData = batchifySplit(corpus.valid, EVAL_BATCH_SIZE, a.data as string, 'valid', 'the evaluation batch size')
  const testData = batchifySplit(corpus.test, EVAL_BATCH_SIZE, a.data as string, 'test', 'the evaluation batch size')
  const ntokens = corpus.dictionary.length

  const modelArgs: ModelArgs = {
    model: a.model as string,
    ntokens,
    emsize: a.emsize as number,
    nhid: a.nhid as number,
    nlayers: a.nlayers as number,
    nhead: a.nhead as number,
    dropout: a.dropout as number,
    tied: a.tied as boolean,
    seed: a.seed as number,
    ...(a.model === 'GCNN' ? { kernel_size: a.kernel_size as number } : {}),
  }
  const model = buildModel(modelArgs)
  const params = model.parameters()
  checkSavePath(a.save as string, params.reduce((n, p) => n + p.value.size, 0))
  // main.py's update is `p.data.add_(p.grad, alpha=-lr)`: SGD without momentum, lr changed by hand.
  const sgd = new SGD(params, { lr: a.lr as number })
  const plateau = new DivideLrOnPlateau(sgd, 4)
  const dp = devices > 1 ? await startReplicas(devices, a.device as Device, modelArgs, params) : undefined

  let interrupted = false
  const onSigint = () => {
    interrupted = true
  }
  process.on('SIGINT', onSigint)
  const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve))

  // --max-batches N runs batches 0..N (main.py's batch counter starts at 0 and logs at N), so the line at N prints.
  function limit(starts: number[]): number[] {
    return maxBatches > 0 ? starts.slice(0, maxBatches + 1) : starts
  }

  /** main.py `evaluate`: the token-weighted mean NLL; returns undefined when Ctrl-C interrupted it. */
  async function evaluate(source: TokenMatrix): Promise<number | undefined> {
    let hidden: RNNHidden | undefined = model instanceof RNNModel ? model.initHidden(EVAL_BATCH_SIZE) : undefined
    let total = 0
    let rows = 0
    const starts = limit(batchStarts(source, bptt))
    for (const i of starts) {
      const { data, target } = getBatch(source, i, bptt)
      const seqLen = data.shape[0]
      let loss: tf.Scalar
      if (model instanceof RNNModel) {
        const out = model.forward(data, { training: false, hidden: hidden! })
        loss = nllLoss(out.logProbs, target)
        tf.dispose([out.logProbs, hidden!.h, hidden!.c])
        hidden = out.hidden
      } else {
        loss = tf.tidy(() => nllLoss(model.forward(data, { training: false }), target))
      }
      total += seqLen * ((await loss.data())[0] as number)
      rows += seqLen
      tf.dispose([loss, data, target])
      if (interrupted) {
        if (hidden) tf.dispose([hidden.h, hidden.c])
        return undefined
      }
    }
    if (hidden) tf.dispose([hidden.h, hidden.c])
    // main.py divides by len(data_source) - 1: the number of target rows of a full pass.
    return total / (maxBatches > 0 ? rows : source.shape[0] - 1)
  }

  let epoch = 0
  /** main.py `train()`: one epoch. */
  // --device webgpu, Transformer on this thread: the compiled step (compiled-train-step.ts).
  const compiled = backend.device === 'webgpu' && !dp && !(model instanceof RNNModel) ? compiledLmStep(model, params, sgd, a.clip as number) : undefined
  async function trainEpoch(): Promise<void> {
    let totalLoss = 0
    let start = performance.now()
    let hidden: RNNHidden | undefined = model instanceof RNNModel ? model.initHidden(a.batch_size as number) : undefined
    const logInterval = a.log_interval as number
    const starts = limit(batchStarts(trainData, bptt))
    /** One SGD step on a batch: on the replicas (columns split among them), or here (carrying the RNN state). */
    const step = async (data: tf.Tensor2D, target: tf.Tensor1D): Promise<number> => {
      if (compiled) return compiled(data, target)
      if (dp) {
        // Each replica takes batch_size/N columns of [seqLen, batch] and the same columns of the targets.
        const targets = tf.reshape(target, data.shape)
        try {
          return (await dp.step(data, targets, sgd.lr, { clipGradNorm: a.clip as number })).loss
        } finally {
          targets.dispose()
        }
      }
      let next: RNNHidden | undefined
      // trainStepAsync: the loss comes back by `await data()`, which WebGPU needs (it has no sync readback in Node).
      const { loss } = await trainStepAsync({
        params,
        optimizer: sgd,
        clipNorm: a.clip as number,
        loss: () => {
          if (model instanceof RNNModel) {
            const out = model.forward(data, { training: true, hidden: hidden! })
            next = { h: tf.keep(out.hidden.h), ...(out.hidden.c ? { c: tf.keep(out.hidden.c) } : {}) }
            return nllLoss(out.logProbs, target)
          }
          return nllLoss(model.forward(data, { training: true }), target)
        },
      })
      if (hidden) tf.dispose([hidden.h, hidden.c])
      hidden = next
      return loss
    }
    for (let batch = 0; batch < starts.length; batch++) {
      const { data, target } = getBatch(trainData, starts[batch] as number, bptt)
      const loss = await step(data, target)
      tf.dispose([data, target])
      totalLoss += loss
      if (batch % logInterval === 0 && batch > 0) {
        const curLoss = totalLoss / logInterval
        const elapsed = (performance.now() - start) / 1000
        console.log(
          `| epoch ${formatPython(epoch, '3d')} | ${formatPython(batch, '5d')}/${formatPython(numBatches(trainData, bptt), '5d')} batches | ` +
            `lr ${formatPython(sgd.lr, '02.2f')} | ms/batch ${formatPython((elapsed * 1000) / logInterval, '5.2f')} | ` +
            `loss ${formatPython(curLoss, '5.2f')} | ppl ${formatPython(Math.exp(curLoss), '8.2f')}`,
        )
        totalLoss = 0
        start = performance.now()
      }
      if (a.dry_run) break
      await yieldToEvents()
      if (interrupted) break
    }
    if (hidden) tf.dispose([hidden.h, hidden.c])
  }

  const save = a.save as string
  let saved = false
  const line = '-'.repeat(89)
  for (epoch = 1; epoch <= (a.epochs as number) && !interrupted; epoch++) {
    const epochStart = performance.now()
    await trainEpoch()
    if (interrupted) break
    // The main thread's model is evaluated and saved: it takes the replicas' weights first.
    dp?.assignTo(params)
    const valLoss = await evaluate(valData)
    if (valLoss === undefined) break
    console.log(line)
    console.log(
      `| end of epoch ${formatPython(epoch, '3d')} | time: ${formatPython((performance.now() - epochStart) / 1000, '5.2f')}s | ` +
        `valid loss ${formatPython(valLoss, '5.2f')} | valid ppl ${formatPython(Math.exp(valLoss), '8.2f')}`,
    )
    console.log(line)
    if (plateau.step(valLoss)) {
      await saveModel(save, model, modelArgs, { epoch, best_val_loss: valLoss })
      saved = true
    }
    // else: DivideLrOnPlateau already did main.py's `lr /= 4.0`.
  }
  if (interrupted) {
    console.log(line)
    console.log('Exiting from training early')
  }
  process.off('SIGINT', onSigint)
  interrupted = false

  dp?.assignTo(params)
  if (saved) await loadWeightsInto(save, model)
  else console.error(`note: no model was saved to ${save} (training stopped before the first validation); testing the current weights`)
  const testLoss = (await evaluate(testData)) as number
  console.log('='.repeat(89))
  console.log(`| End of training | test loss ${formatPython(testLoss, '5.2f')} | test ppl ${formatPython(Math.exp(testLoss), '8.2f')}`)
  console.log('='.repeat(89))
  await dp?.dispose()
  model.dispose()
  sgd.dispose()
  return 0
}

/** `--devices N`: Transformer replicas in worker threads, starting from the main model's weights (main.py's SGD: no momentum). */
async function startReplicas(devices: number, device: Device, m: ModelArgs, params: { name: string; value: tf.Variable }[]): Promise<DataParallel> {
  const dp = await createDataParallel({
    replicas: devices,
    device,
    replica: {
      module: fileURLToPath(new URL('./replica.ts', import.meta.url)),
      export: 'transformerReplica',
      options: { ntoken: m.ntokens, ninp: m.emsize, nhead: m.nhead, nhid: m.nhid, nlayers: m.nlayers, dropout: m.dropout, seed: m.seed },
    },
    batchAxis: 1,
  })
  try {
    await dp.setParameters(params)
  } catch (error) {
    await dp.dispose()
    throw error
  }
  const b = dp.backends[0]
  console.error(`data parallel: ${dp.replicas} replicas on ${b?.device ?? device}${b?.threads ? `, ${b.threads} thread(s) each` : ''}; gradients averaged every step`)
  return dp
}

