/**
 * `pnpm wordlm train`: pytorch/examples word_language_model/main.py, line for line where it matters: the same flags
 * and defaults, plain SGD (`p -= lr·grad`) after clip_grad_norm_, lr /= 4 when validation loss does not improve,
 * the best model saved, Ctrl-C ending training but not the test evaluation, and the same log lines.
 */
import * as tf from '@tensorflow/tfjs-core'
import { flagTable, helpText, parseFlags, UsageError } from '@tinylab/cli-flags'
import { formatPython } from '@tinylab/metrics-logger'
import { createDataParallel, initBackend } from '@tinylab/multi-device'
import type { DataParallel, Device } from '@tinylab/multi-device'
import { clipGradNorm, DivideLrOnPlateau, SGD } from '@tinylab/train-loop'
import { checkOutputFile, formatForPath, loadCheckpoint, loadStateDict } from '@tinylab/checkpoint-io'
import { buildLanguageModel, DEFAULT_KERNEL_SIZE, evaluateLm, LANGUAGE_MODELS, lmTrainer, type ModelArgs, nllLoss, RNNModel, saveLanguageModel } from '@tinylab/transformer-lm'
import { batchifySplit, batchStarts, bpttBatches, Corpus, getBatch, numBatches, type TokenMatrix } from '@tinylab/wikitext-data'
import { existsSync } from 'node:fs'
import { compileForward, compileTrainingStep } from '@tinylab/webgpu-backend'

export const DEVICES = ['auto', 'wasm', 'wasm+native', 'cpu', 'webgpu', 'tensorflow'] as const

export const TRAIN_FLAGS = flagTable({
  data: { names: ['--data'], type: 'string', default: './data/wikitext-2', help: 'location of the data corpus' },
  model: { names: ['--model'], type: 'string', default: 'LSTM', help: `type of network (${LANGUAGE_MODELS.join(', ')})`, choices: LANGUAGE_MODELS },
  emsize: { names: ['--emsize'], type: 'int', above: 0, default: 200, help: 'size of word embeddings' },
  nhid: { names: ['--nhid'], type: 'int', above: 0, default: 200, help: 'number of hidden units per layer' },
  nlayers: { names: ['--nlayers'], type: 'int', above: 0, default: 2, help: 'number of layers' },
  lr: { names: ['--lr'], type: 'float', default: 20, help: 'initial learning rate' },
  clip: { names: ['--clip'], type: 'float', default: 0.25, help: 'gradient clipping' },
  epochs: { names: ['--epochs'], type: 'int', above: 0, default: 40, help: 'upper epoch limit' },
  batch_size: { names: ['--batch_size', '--batch-size'], type: 'int', above: 0, default: 20, help: 'batch size' },
  bptt: { names: ['--bptt'], type: 'int', above: 0, default: 35, help: 'sequence length' },
  dropout: { names: ['--dropout'], type: 'float', default: 0.2, help: 'dropout applied to layers (0 = no dropout)' },
  tied: { names: ['--tied'], type: 'bool', help: 'tie the word embedding and softmax weights' },
  seed: { names: ['--seed'], type: 'int', default: 1111, help: 'random seed' },
  log_interval: { names: ['--log-interval'], type: 'int', above: 0, default: 200, help: 'report interval' },
  save: { names: ['--save'], type: 'string', default: 'model.pt', help: 'path to save the final model (.pt/.pth: torch zip; .safetensors)', check: formatForPath },
  onnx_export: { names: ['--onnx-export'], type: 'string', default: '', help: 'path to export the final model in onnx format (not supported in TinyLab)' },
  nhead: { names: ['--nhead'], type: 'int', above: 0, default: 2, help: 'the number of heads in the encoder/decoder of the transformer model' },
  kernel_size: { names: ['--kernel-size'], type: 'int', default: DEFAULT_KERNEL_SIZE, help: 'GCNN convolution width (receptive field: nlayers·(kernel_size−1)+1 tokens)' },
  dry_run: { names: ['--dry-run'], type: 'bool', help: 'verify the code and the model' },
  device: { names: ['--device'], type: 'string', default: 'auto', help: 'TensorFlow.js backend; replaces --cuda/--mps/--accel', choices: DEVICES },
  devices: { names: ['--devices'], type: 'int', min: 1, default: 1, help: 'data-parallel replicas (worker threads, each its own --device backend and batch_size/N columns); Transformer only' },
  max_batches: { names: ['--max-batches'], type: 'int', min: 0, default: 0, help: 'smoke runs: stop each training and evaluation pass after batch N (so the log line at N prints), 0 = all' },
})

const EVAL_BATCH_SIZE = 10

export async function trainMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('pnpm wordlm train [flags]', 'PyTorch Wikitext-2 RNN/LSTM/GRU/Transformer/GCNN Language Model, on TensorFlow.js', TRAIN_FLAGS))
    return 0
  }
  const { values: a } = parseFlags(argv, TRAIN_FLAGS)
  if (!(a.dropout >= 0 && a.dropout < 1)) throw new UsageError(`argument --dropout: invalid value: ${a.dropout} (must be in [0, 1))`)
  const devices = a.devices
  if (devices > 1 && a.model !== 'Transformer') {
    throw new UsageError(`argument --devices: ${devices} replicas need --model Transformer (the ${a.model} model carries its hidden state from batch to batch)`)
  }
  if (devices > a.batch_size) throw new UsageError(`argument --devices: ${devices} replicas for --batch_size ${a.batch_size} (each needs at least one column)`)
  if (a.onnx_export !== '') throw new UsageError(`argument --onnx-export: ONNX export is not supported in TinyLab (got '${a.onnx_export}'); use the saved checkpoint`)
  if (!existsSync(a.data)) throw new UsageError(`argument --data: '${a.data}' does not exist (expected a folder with train.txt, valid.txt, test.txt)`)
  // The first save comes after a whole epoch: a path that cannot be written must fail now (space is checked below).
  checkOutputFile(a.save, '--save')

  const backend = await initBackend({ device: a.device })
  console.error(`backend: ${backend.backend} (${backend.reason})`)

  const corpus = new Corpus(a.data)
  const { bptt, max_batches: maxBatches } = a
  const trainData = batchifySplit(corpus.train, a.batch_size, a.data, 'train', '--batch_size')
  const valData = batchifySplit(corpus.valid, EVAL_BATCH_SIZE, a.data, 'valid', 'the evaluation batch size')
  const testData = batchifySplit(corpus.test, EVAL_BATCH_SIZE, a.data, 'test', 'the evaluation batch size')
  const ntokens = corpus.dictionary.length

  const modelArgs: ModelArgs = {
    model: a.model,
    ntokens,
    emsize: a.emsize,
    nhid: a.nhid,
    nlayers: a.nlayers,
    nhead: a.nhead,
    dropout: a.dropout,
    tied: a.tied,
    seed: a.seed,
    ...(a.model === 'GCNN' ? { kernel_size: a.kernel_size } : {}),
  }
  const model = buildLanguageModel(modelArgs)
  const params = model.parameters()
  checkOutputFile(a.save, '--save', { expectedBytes: 4 * params.reduce((n, p) => n + p.value.size, 0) })
  // main.py's update is `p.data.add_(p.grad, alpha=-lr)`: SGD without momentum, lr changed by hand.
  const sgd = new SGD(params, { lr: a.lr })
  const plateau = new DivideLrOnPlateau(sgd, 4)
  const dp = devices > 1 ? await startReplicas(devices, a.device, modelArgs, params) : undefined

  let interrupted = false
  const onSigint = () => {
    interrupted = true
  }
  process.on('SIGINT', onSigint)

  // --max-batches N runs batches 0..N (main.py's batch counter starts at 0 and logs at N), so the line at N prints.
  const limit = (starts: number[]): number[] => (maxBatches > 0 ? starts.slice(0, maxBatches + 1) : starts)

  /** main.py `evaluate`: the token-weighted mean NLL; returns undefined when Ctrl-C interrupted it. */
  async function evaluate(source: TokenMatrix): Promise<number | undefined> {
    const compile = backend.device === 'webgpu' ? compileForward : undefined // each batch shape's forward pass compiled
    const r = await evaluateLm(model, bpttBatches(source, bptt, limit(batchStarts(source, bptt))), { stop: () => interrupted, compile })
    // main.py divides by len(data_source) - 1: the number of target rows of a full pass.
    return r && r.total / (maxBatches > 0 ? r.rows : source.shape[0] - 1)
  }

  const trainer = lmTrainer(model, sgd, a.clip)
  // --device webgpu, Transformer/GCNN on this thread: main.py's step traced once per batch shape and replayed. Dropout's
  // noise, drawn on the CPU by tf.dropout, is redrawn on the GPU at every replay (hostRandom 'gpu-uniform').
  const compiled =
    backend.device === 'webgpu' && !dp && !(model instanceof RNNModel)
      ? compileTrainingStep({
          params,
          loss: ([d, t]) => ({ loss: nllLoss(model.forward(d as tf.Tensor2D, { training: true }), t as tf.Tensor) }),
          update: (grads) => sgd.step(clipGradNorm(grads, a.clip).grads),
          traceKey: () => sgd.lr,
          hostRandom: 'gpu-uniform',
        })
      : undefined
  /** One SGD step on a batch: on the replicas (columns split among them), compiled, or here (carrying the RNN state). */
  const step = async (data: tf.Tensor2D, target: tf.Tensor1D): Promise<number> => {
    if (compiled) return (await compiled.run([data, target])).loss
    if (!dp) return trainer.step(data, target)
    // Each replica takes batch_size/N columns of [seqLen, batch] and the same columns of the targets.
    const targets = tf.reshape(target, data.shape)
    try {
      return (await dp.step(data, targets, sgd.lr, { clipGradNorm: a.clip })).loss
    } finally {
      targets.dispose()
    }
  }

  /** main.py `train()`: one epoch. */
  async function trainEpoch(epoch: number): Promise<void> {
    let totalLoss = 0
    let start = performance.now()
    trainer.reset(a.batch_size)
    const logInterval = a.log_interval
    const starts = limit(batchStarts(trainData, bptt))
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
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (interrupted) break
    }
  }

  let saved = false
  const line = '-'.repeat(89)
  for (let epoch = 1; epoch <= a.epochs && !interrupted; epoch++) {
    const epochStart = performance.now()
    await trainEpoch(epoch)
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
      await saveLanguageModel(a.save, model, modelArgs, { epoch, best_val_loss: valLoss })
      saved = true
    }
    // else: DivideLrOnPlateau already did main.py's `lr /= 4.0`.
  }
  trainer.dispose()
  compiled?.dispose()
  if (interrupted) {
    console.log(line)
    console.log('Exiting from training early')
  }
  process.off('SIGINT', onSigint)
  interrupted = false

  dp?.assignTo(params)
  if (saved) loadStateDict(model.namedTensors(), await loadCheckpoint(a.save))
  else console.error(`note: no model was saved to ${a.save} (training stopped before the first validation); testing the current weights`)
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
      module: '@tinylab/transformer-lm',
      export: 'transformerReplica',
      options: { ntoken: m.ntokens, ninp: m.emsize, nhead: m.nhead, nhid: m.nhid, nlayers: m.nlayers, dropout: m.dropout, seed: m.seed },
      from: import.meta.url,
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

