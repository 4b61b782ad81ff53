/**
 * `pnpm resnet train [DIR]`: pytorch/examples imagenet/main.py for Tiny-ImageNet, with the reference run's changes (val
 * labels from val_annotations.txt, the four TensorBoard scalars per epoch, checkpoint_epoch5/10 snapshots), composed from
 * the packages: data (tiny-imagenet-data), model (resnet-models), SGD, schedules and the epoch loop (train-loop), meters
 * and TensorBoard (metrics-logger), checkpoints (checkpoint-io), backend and data parallelism (multi-device).
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { flagTable, helpText, longName, parseFlags, parseValue, UsageError, type FlagValues } from '@tinylab/cli-flags'
import {
  CHECKPOINT_FORMATS,
  CheckpointManager,
  asTrainingState,
  loadCheckpoint,
  loadPretrained,
  saveCheckpoint,
  type CheckpointValue,
  type TrainingState,
} from '@tinylab/checkpoint-io'
import { SummaryWriter, runDirName } from '@tinylab/metrics-logger'
import { initBackend, startReplicasFrom, syncFromReplicas, type DataParallel, type Device } from '@tinylab/multi-device'
import { createResNet, formatSummary, resnetArchs, summary, wasmMicroBatch, type ResNet, type ResNetStem } from '@tinylab/resnet-models'
import { SYNTHETIC_DEFAULTS, TinyImageNetLoader, classesOf, ensureSyntheticDataset, readSplit, sameClasses, type Augment } from '@tinylab/tiny-imagenet-data'
import {
  CosineAnnealingLR,
  SGD,
  StepLR,
  StopOnSigint,
  accuracyFromLogits,
  classifierEvaluator,
  classifierStep,
  crossEntropy,
  encodeTrainingState,
  evaluateEpoch,
  restoreTrainingState,
  runEpochs,
  savedSchedulerType,
  trainEpoch,
  type BatchResult,
  type LoopPosition,
  type TrainingParts,
} from '@tinylab/train-loop'
import { compileForward, compileTrainingStep } from '@tinylab/webgpu-backend'
import { assertResumeClasses, checkCheckpointSpace, prepareRunOutputs } from './run-guards'
import type { Subcommand } from './subcommand'

const stems: readonly ResNetStem[] = ['imagenet', 'cifar']
export const DEVICES: readonly Device[] = ['auto', 'wasm', 'wasm+native', 'cpu', 'webgpu', 'tensorflow']
const augments = ['none', 'crop', 'rrc'] as const
const AUGMENT: Record<(typeof augments)[number], Augment> = { none: 'none', crop: 'random-crop', rrc: 'random-resized-crop' }

/** main.py's flags and defaults, and TinyLab's additions. */
const FLAGS = flagTable({
  data: { names: ['--data'], label: 'DIR, --data DIR', type: 'string', help: 'Tiny-ImageNet folder (wnids.txt, train/, val/); none: a generated demo dataset in .cache/ (see below)' },
  arch: { names: ['-a', '--arch'], type: 'string', choices: Object.keys(resnetArchs), default: 'resnet18', help: 'model architecture' },
  workers: { names: ['-j', '--workers'], type: 'non-negative int', metavar: 'N', default: 4, help: 'data loading threads' },
  epochs: { names: ['--epochs'], type: 'positive int', metavar: 'N', default: 90, help: 'number of total epochs to run' },
  start_epoch: { names: ['--start-epoch'], type: 'non-negative int', metavar: 'N', default: 0, help: 'manual epoch number, useful on restarts' },
  batch_size: { names: ['-b', '--batch-size'], type: 'positive int', metavar: 'N', default: 256, help: 'mini-batch size' },
  lr: { names: ['--lr'], hidden: ['--learning-rate'], type: 'non-negative float', metavar: 'LR', default: 0.1, help: 'initial learning rate' },
  momentum: { names: ['--momentum'], type: 'non-negative float', metavar: 'M', default: 0.9, help: 'SGD momentum' },
  weight_decay: { names: ['--wd', '--weight-decay'], type: 'non-negative float', metavar: 'W', default: 1e-4, defaultHelp: '1e-4', help: 'weight decay' },
  print_freq: { names: ['-p', '--print-freq'], type: 'positive int', metavar: 'N', default: 10, help: 'print every N batches' },
  resume: { names: ['--resume'], type: 'string', metavar: 'PATH', defaultHelp: 'none', help: 'checkpoint to continue from exactly (epoch, step in the epoch, lr, momentum, best acc, data order) in a new run folder under --logdir' },
  evaluate: { names: ['-e', '--evaluate'], type: 'bool', defaultHelp: 'off', help: 'evaluate the model on the validation set and exit (with --resume or --pretrained)' },
  pretrained: { names: ['--pretrained'], type: 'string', metavar: 'FILE', defaultHelp: 'none', help: 'start from a local torchvision .pth or TinyLab checkpoint; a head of another size or other classes is re-initialised' },
  seed: { names: ['--seed'], type: 'non-negative int', metavar: 'N', default: 0, help: 'seed of the initial weights, the data order and the augmentation' },
  device: { names: ['--device'], type: 'string', choices: DEVICES, default: 'auto', defaultHelp: 'auto = wasm, + native kernels when present', help: "TensorFlow.js device; replaces main.py's --gpu/--dist-url" },
  devices: { names: ['--devices'], type: 'positive int', metavar: 'N', default: 1, help: 'data-parallel replicas in worker threads, each with its own --device backend and 1/N of every batch' },
  logdir: { names: ['--logdir'], type: 'string', metavar: 'DIR', default: 'runs', help: 'parent of the run folder <Mon><dd>_<HH-MM-SS>_<arch>' },
  save_dir: { names: ['--save-dir'], type: 'string', metavar: 'DIR', defaultHelp: 'the run folder', help: 'where checkpoints go' },
  checkpoint_epochs: { names: ['--checkpoint-epochs'], type: 'string', metavar: 'LIST', default: '5,10', help: 'keep checkpoint_epochN after these many completed epochs' },
  checkpoint_format: { names: ['--checkpoint-format'], type: 'string', choices: CHECKPOINT_FORMATS, metavar: 'FMT', default: 'pth', help: 'pth: checkpoint.pth.tar as main.py, for torch.load; safetensors' },
  stem: { names: ['--stem'], type: 'string', choices: stems, default: 'imagenet', help: '7x7/2 conv + max-pool (torchvision), or 3x3/1 conv without pool' },
  augment: { names: ['--augment'], type: 'string', choices: augments, default: 'crop', help: 'crop = RandomCrop(64, padding 4) + flip; rrc = RandomResizedCrop(64) + flip' },
  lr_schedule: { names: ['--lr-schedule'], type: 'string', choices: ['step', 'cosine'], default: 'step', help: 'StepLR(30, 0.1) as main.py, or CosineAnnealingLR(T_max = epochs)' },
  max_steps: { names: ['--max-steps'], type: 'positive int', metavar: 'N', defaultHelp: 'all', help: 'smoke runs: at most N training (and validation) batches per epoch' },
  classes: { names: ['--classes'], type: 'string', metavar: 'W1,W2,...', defaultHelp: 'all', help: 'train on these wnids only' },
  num_classes_subset: { names: ['--num-classes-subset'], type: 'positive int', metavar: 'K', defaultHelp: 'all', help: 'train on the first K wnids of wnids.txt' },
  num_classes: { names: ['--num-classes'], type: 'positive int', metavar: 'N', defaultHelp: 'number of selected classes', help: 'width of the final Linear layer' },
  cache: { names: ['--cache'], type: 'string', metavar: 'FILE', defaultHelp: 'none', help: 'packed uint8 cache of decoded train images (val: FILE.val)' },
  micro_batch: { names: ['--micro-batch'], type: 'string', metavar: 'N', default: 'auto', defaultHelp: 'auto = fit the 4 GiB wasm heap', help: 'images per forward/backward; gradients accumulate to the batch' },
  help: { names: ['-h', '--help'], type: 'bool', help: 'show this help' },
})
type Flags = FlagValues<typeof FLAGS>
/** The demo's values when no data folder is given, unless set on the command line. */
const DEMO: Partial<Flags> = { epochs: 3, batch_size: 32, print_freq: 5, lr_schedule: 'cosine', lr: 0.05, workers: 2 }
export const SYNTHETIC_DIR = path.join('.cache', 'tiny-imagenet-synthetic')

const HELP = [
  helpText(
    'pnpm resnet train [DIR] [-a ARCH] [-j N] [--epochs N] [-b N] [--lr LR] [--resume PATH] [-e] [--device DEVICE] [...]',
    'Train a ResNet on Tiny-ImageNet like pytorch/examples imagenet/main.py: prints the layer table, the Epoch/Test\n' +
      'progress lines, logs TensorBoard scalars (scalar/train_loss, train_acc, val_loss, val_acc) and saves checkpoint,\n' +
      'model_best and checkpoint_epochN. Ctrl-C finishes the step (or abandons validation), saves the position and exits.',
    FLAGS,
  ),
  '',
  `Without DIR: generates ${SYNTHETIC_DEFAULTS.classes} synthetic classes in the real layout into ${SYNTHETIC_DIR} (once) and trains a`,
  `quick demo with ${Object.entries(DEMO).map(([k, v]) => `${longName(FLAGS, k)} ${v}`).join(' ')} unless given. Real data:`,
  '  pnpm resnet download --out ./data && pnpm resnet train ./data/tiny-imagenet-200',
].join('\n')

/** The parsed flags, the lists split and checked. */
function toArgs({ help: _help, ...v }: Flags) {
  const classes = v.classes?.split(',').filter((s) => s !== '')
  if (classes !== undefined && classes.length === 0) throw new UsageError("argument --classes: expected wnids separated by commas, got ''")
  return {
    ...v,
    checkpoint_epochs: v.checkpoint_epochs.split(',').filter((s) => s !== '').map((s) => parseValue('--checkpoint-epochs', 'positive int', s)),
    classes,
    micro_batch: v.micro_batch === 'auto' ? ('auto' as const) : parseValue('--micro-batch', 'positive int', v.micro_batch),
  }
}
type TrainArgs = ReturnType<typeof toArgs>

function parseTrainArgs(argv: string[]): { args: TrainArgs; demo: string[]; given: Set<string> } | 'help' {
  const { values, positionals, given } = parseFlags(argv, FLAGS, { positionals: true })
  if (values.help) return 'help'
  if (positionals.length > 1) throw new UsageError(`unrecognized arguments: ${positionals.slice(1).join(' ')}`)
  if (positionals.length === 1 && values.data !== undefined) throw new UsageError('argument DIR: give the data folder once (DIR or --data)')
  values.data ??= positionals[0]
  const demo: string[] = []
  if (values.data === undefined && values.resume === undefined) {
    for (const [k, v] of Object.entries(DEMO)) {
      if ((given as Set<string>).has(k)) continue
      Object.assign(values, { [k]: v })
      demo.push(`${longName(FLAGS, k)} ${v}`)
    }
  }
  return { args: toArgs(values), demo, given }
}

/** --pretrained: a head of another size, or trained on other classes (its rows would go to the wrong classes), is re-initialised. */
function loadPretrainedResNet(model: ResNet, value: Record<string, CheckpointValue>, file: string, selected: string[]): void {
  const saved = classesOf(value.classes)
  const replaceHead = saved !== undefined && !sameClasses(saved, selected)
  const r = loadPretrained(model.namedTensors(), value, { head: 'fc.', numClasses: model.numClasses, replaceHead, file, modelName: 'ResNet' })
  if (r.headReplaced === 'requested') console.log(`=> pretrained head was trained on other classes: fc re-initialised for the ${selected.length} selected`)
  if (r.headReplaced === 'size') console.log(`=> pretrained head has ${r.savedClasses ?? 'another number of'} classes: fc re-initialised for ${model.numClasses}`)
}

function microBatchFor(args: TrainArgs, backend: string, summaryMB: number): { size: number; reason: string } {
  if (args.micro_batch !== 'auto') return { size: Math.min(args.micro_batch, args.batch_size), reason: 'set by --micro-batch' }
  return backend === 'wasm' ? wasmMicroBatch(args.batch_size, summaryMB) : { size: args.batch_size, reason: `no limit on ${backend}` }
}

/** `--devices N`: data-parallel replicas (DistributedDataParallel semantics) that continue from `model` and `sgd`. */
async function startReplicas(args: TrainArgs, numClasses: number, model: ResNet, sgd: SGD): Promise<DataParallel> {
  const dp = await startReplicasFrom(
    {
      replicas: args.devices,
      device: args.device,
      // resnet-models exports resnet18/34/50(options): the arch name is the export.
      replica: { module: '@tinylab/resnet-models', export: args.arch, options: { numClasses, stem: args.stem, seed: args.seed }, from: import.meta.url },
      optimizer: { momentum: args.momentum, weightDecay: args.weight_decay },
      // DistributedDataParallel's default: rank 0's BatchNorm running stats are the model's.
      broadcastBuffers: true,
    },
    model.namedTensors(),
    sgd,
  )
  const b = dp.backends[0]
  console.log(
    `=> data parallel: ${dp.replicas} replicas on ${b?.device ?? args.device}${b?.threads ? ` (${b.threads} thread${b.threads > 1 ? 's' : ''} each)` : ''}; ` +
      'gradients averaged every step (DistributedDataParallel semantics, BatchNorm statistics per replica)',
  )
  return dp
}

type TrainBatch = { x: tf.Tensor4D; y: tf.Tensor1D } | { x: Float32Array; y: Int32Array }

async function run(argv: string[]): Promise<number> {
  const parsed = parseTrainArgs(argv)
  if (parsed === 'help') {
    console.log(HELP)
    return 0
  }
  const { args, demo, given } = parsed
  let root = args.data
  if (root === undefined) {
    root = await ensureSyntheticDataset(SYNTHETIC_DIR)
    console.log(`=> no data folder given: using the generated demo dataset ${root} (${SYNTHETIC_DEFAULTS.classes} synthetic classes, Tiny-ImageNet layout)`)
    console.log('=> for the real data: pnpm resnet download --out ./data && pnpm resnet train ./data/tiny-imagenet-200')
    if (demo.length) console.log(`=> demo defaults: ${demo.join(' ')}`)
  } else {
    root = path.resolve(root)
    if (!existsSync(root)) throw new Error(`${root}: data folder not found (expected Tiny-ImageNet: wnids.txt, words.txt, train/, val/)`)
    if (!existsSync(path.join(root, 'wnids.txt'))) throw new Error(`${root}: not a Tiny-ImageNet folder (no wnids.txt)`)
  }

  let resumed: TrainingState | undefined
  if (args.resume !== undefined) {
    if (!existsSync(args.resume)) throw new Error(`${args.resume}: no checkpoint found at '${args.resume}' (--resume)`)
    console.log(`=> loading checkpoint '${args.resume}'`)
    resumed = asTrainingState(await loadCheckpoint(args.resume), args.resume)
  }
  // A resumed run keeps its recipe (stem, schedule, classes) unless a flag overrides it.
  if (resumed) {
    const type = savedSchedulerType(resumed)
    if (!given.has('lr_schedule') && (type === 'step' || type === 'cosine')) args.lr_schedule = type
    if (type !== undefined && type !== args.lr_schedule) throw new UsageError(`argument --lr-schedule: the checkpoint was trained with '${type}', got '${args.lr_schedule}'`)
    if (!given.has('stem') && (resumed.stem === 'imagenet' || resumed.stem === 'cifar')) args.stem = resumed.stem
  }
  const savedClasses = classesOf(resumed?.classes)
  let classSel: { classes?: string[]; numClasses?: number } = {}
  if (args.classes) classSel = { classes: args.num_classes_subset ? args.classes.slice(0, args.num_classes_subset) : args.classes }
  else if (args.num_classes_subset) classSel = { numClasses: args.num_classes_subset }
  else if (savedClasses) classSel = { classes: savedClasses }
  const trainList = readSplit(root, 'train', classSel)
  const valList = readSplit(root, 'val', classSel)
  const wnids = trainList.classes.wnids
  const numClasses = args.num_classes ?? (typeof resumed?.num_classes === 'number' ? resumed.num_classes : wnids.length)
  if (numClasses < wnids.length) throw new UsageError(`argument --num-classes: ${numClasses} is fewer than the ${wnids.length} selected classes`)
  if (args.resume !== undefined && savedClasses !== undefined && (args.classes || args.num_classes_subset))
    assertResumeClasses(args.resume, savedClasses, wnids, args.classes ? '--classes' : '--num-classes-subset')

  // Everything that can fail on the user's files fails here, before the backend starts and the model is built.
  prepareRunOutputs(args.evaluate ? undefined : args.logdir, args.evaluate ? undefined : args.save_dir, args.cache)
  let pretrained: Record<string, CheckpointValue> | undefined
  if (args.pretrained !== undefined) {
    if (!existsSync(args.pretrained)) throw new Error(`${args.pretrained}: pretrained weights not found (--pretrained)`)
    pretrained = await loadCheckpoint(args.pretrained)
  }

  const info = await initBackend({ device: args.device })
  console.log(`=> device: ${info.device}${info.threads ? ` (${info.threads} threads)` : ''}: ${info.reason}`)
  console.log(`=> creating model '${args.arch}' (stem ${args.stem}, ${numClasses} classes)`)
  const model = createResNet(args.arch, { numClasses, stem: args.stem, seed: args.seed })
  const modelSummary = summary(model, [3, 64, 64])
  process.stdout.write(formatSummary(modelSummary))
  // Weights and momentum in float32: what a checkpoint holds.
  if (!args.evaluate) checkCheckpointSpace(args.logdir, args.save_dir, 8 * modelSummary.totalParams)
  if (args.pretrained !== undefined && pretrained !== undefined) {
    console.log(`=> using pre-trained model '${args.pretrained}'`)
    loadPretrainedResNet(model, pretrained, args.pretrained, wnids)
  }
  const params = model.parameters()
  const sgd = new SGD(params, { lr: args.lr, momentum: args.momentum, weightDecay: args.weight_decay })
  const scheduler = args.lr_schedule === 'cosine' ? new CosineAnnealingLR(sgd, { tMax: args.epochs }) : new StepLR(sgd, { stepSize: 30, gamma: 0.1 })

  const training: TrainingParts = { model: model.namedTensors(), params, optimizer: sgd, scheduler, type: args.lr_schedule, modelName: 'ResNet' }
  let state: LoopPosition = { epoch: args.start_epoch, batch: 0, globalStep: 0, bestAcc1: 0, meters: undefined }
  if (resumed && args.resume) {
    state = restoreTrainingState(resumed, training)
    console.log(`=> loaded checkpoint '${args.resume}' (epoch ${state.epoch}${state.batch ? `, batch ${state.batch}` : ''}, best acc@1 ${state.bestAcc1.toFixed(3)})`)
  }

  // wasm+native keeps its tensors in the wasm heap too, so the 4 GiB cap applies to both.
  const heapCapped = info.backend === 'wasm' || info.device === 'wasm' || info.device === 'wasm+native'
  let micro = microBatchFor(args, heapCapped ? 'wasm' : info.backend, modelSummary.forwardBackwardSizeMB)
  if (typeof resumed?.micro_batch === 'number' && args.micro_batch === 'auto') micro = { size: resumed.micro_batch, reason: 'kept from the checkpoint' }
  // Each replica's heap holds only its 1/N shard: data parallelism replaces gradient accumulation.
  if (args.devices > 1) micro = { size: args.batch_size, reason: `${args.devices} replicas split each batch` }
  const parts = Math.ceil(args.batch_size / micro.size)
  if (parts > 1) {
    console.log(
      `=> micro-batches: ${parts} x ${micro.size} images per step of ${args.batch_size} with gradient accumulation (${micro.reason}); ` +
        'BatchNorm normalises each micro-batch separately, as DistributedDataParallel does per GPU',
    )
  }

  const loaderOptions = { batchSize: args.batch_size, workers: args.workers, seed: args.seed }
  const valCache = args.cache ? `${args.cache}.val` : undefined
  const valLoader = await TinyImageNetLoader.create(valList.samples, { ...loaderOptions, shuffle: false, augment: 'none', cache: valCache, verbose: true })
  const topk = [1, Math.min(5, numClasses)]
  const ctrlC = new StopOnSigint({
    first: '\n=> Ctrl-C: finishing the current step, then saving a checkpoint (Ctrl-C again to abort)',
    second: '\n=> second Ctrl-C: aborting without saving',
  })
  const stop = (): boolean => ctrlC.requested
  const evaluator = classifierEvaluator(model, { topk, compile: info.device === 'webgpu' ? compileForward : undefined }) // webgpu: compiled
  /** Main.py's validate(); undefined when Ctrl-C abandoned it (a resumed run validates again). */
  const validate = () =>
    evaluateEpoch({
      batches: valLoader.batches(0),
      total: Math.min(valLoader.numBatches, args.max_steps ?? Infinity),
      size: (b) => b.y.shape[0],
      printFreq: args.print_freq,
      stop,
      step: ({ x, y }) => evaluator.evaluate(x, y).finally(() => tf.dispose([x, y])),
    })

  if (args.evaluate) {
    try {
      await validate()
    } finally {
      await valLoader.close()
      evaluator.dispose()
      model.dispose()
    }
    return 0
  }

  // A resumed run gets its own folder under --logdir: the run it came from (maybe a copy) is never written to.
  const runDir = path.join(args.logdir, runDirName(args.arch))
  const writer = new SummaryWriter({ runDir })
  const saveDir = args.save_dir ?? runDir
  const checkpoints = await CheckpointManager.open({ dir: saveDir, keepEpochs: args.checkpoint_epochs, format: args.checkpoint_format })
  const stepsLog = path.join(runDir, 'steps.jsonl')
  mkdirSync(runDir, { recursive: true })
  console.log(`=> run folder ${runDir} (TensorBoard: tensorboard --logdir ${args.logdir}); checkpoints in ${saveDir}`)
  const resumedFrom = args.resume ? path.resolve(args.resume) : null
  writer.addFlags(args, { data: root, numClasses, classes: wnids, microBatch: micro.size, device: info.device, threads: info.threads ?? null, resumedFrom })

  const trainLoader = await TinyImageNetLoader.create(trainList.samples, {
    ...loaderOptions,
    augment: AUGMENT[args.augment],
    flip: args.augment !== 'none',
    cache: args.cache,
    verbose: true,
  })

  ctrlC.listen()

  const saveState = async (position: LoopPosition, isBest: boolean): Promise<void> => {
    const value = await encodeTrainingState(training, position, {
      arch: args.arch,
      rng: { seed: args.seed, note: 'data order and augmentation are seeded per (seed, epoch, sample); weights by seed' },
      micro_batch: micro.size,
      classes: wnids,
      num_classes: numClasses,
      stem: args.stem,
      run_dir: runDir,
    })
    if (position.batch === 0) await checkpoints.save(value, { isBest })
    else await saveCheckpoint(checkpoints.path('checkpoint'), value, checkpoints.format)
    writer.flush()
  }

  const dp = args.devices > 1 ? await startReplicas(args, numClasses, model, sgd) : undefined
  // --device webgpu with whole batches on this thread: the step compiled (traced once per batch shape, replayed).
  const compiled =
    info.device === 'webgpu' && !dp && micro.size >= args.batch_size
      ? compileTrainingStep({
          params,
          loss: ([x, y]) => {
            const logits = model.forward(x as tf.Tensor4D, { training: true })
            return { loss: crossEntropy(logits, y as tf.Tensor1D), outputs: [logits] }
          },
          update: (grads) => sgd.step(grads),
          traceKey: () => sgd.lr,
        })
      : undefined
  /** One SGD step on a batch: on the replicas (which take the loader's arrays as they are), compiled, or here in micro-batches. */
  const step = async (b: TrainBatch): Promise<BatchResult> => {
    if (dp && b.y instanceof Int32Array) {
      const { x, y } = b as { x: Float32Array; y: Int32Array }
      const n = y.length
      const side = Math.round(Math.sqrt(x.length / n / 3))
      const r = await dp.step({ data: x, shape: [n, side, side, 3] }, { data: y, shape: [n] }, sgd.lr, { topk })
      return { loss: r.loss, acc: (r.correct ?? []).map((hits) => (100 * hits) / n) }
    }
    const { x, y } = b as { x: tf.Tensor4D; y: tf.Tensor1D }
    try {
      if (!compiled) return await classifierStep({ model, params, optimizer: sgd, microBatch: micro.size, topk }, x, y)
      const r = await compiled.run([x, y])
      return { loss: r.loss, acc: accuracyFromLogits(r.outputs[0] as Float32Array, await y.data(), numClasses, topk) }
    } finally {
      tf.dispose([x, y])
    }
  }

  const ckpt = checkpoints.path('checkpoint')
  let exitCode = 0
  try {
    const end = await runEpochs({
      position: state,
      epochs: args.epochs,
      scheduler,
      lr: () => sgd.lr,
      stop,
      validate,
      save: saveState,
      train: async (epoch, startBatch, sums) => {
        const total = Math.min(trainLoader.numBatches, args.max_steps ?? Infinity)
        const trained = await trainEpoch<TrainBatch>(epoch, {
          batches: dp ? trainLoader.arrays(epoch, { startBatch }) : trainLoader.batches(epoch, { startBatch }),
          total,
          startBatch,
          sums,
          size: (b) => (b.y instanceof Int32Array ? b.y.length : b.y.shape[0]),
          step,
          printFreq: args.print_freq,
          stop,
          onStep: (i, r) => {
            state.globalStep++
            appendFileSync(stepsLog, JSON.stringify({ epoch, batch: i, step: state.globalStep, loss: r.loss, acc1: r.acc[0], lr: sgd.lr }) + '\n')
          },
        })
        // The main model (validation, checkpoints) takes the replicas' weights, buffers and momentum.
        if (dp) syncFromReplicas(dp, model.namedTensors(), sgd)
        return { ...trained, total }
      },
      onEpochEnd: (epoch, trained, val, lr) => {
        const scalars = { train_loss: trained.loss, train_acc: trained.acc1, val_loss: val.loss, val_acc: val.acc1, lr }
        for (const [name, value] of Object.entries(scalars)) writer.addScalar(`scalar/${name}`, value, epoch)
        writer.flush()
      },
    })
    const resumeHint = `continue with --resume ${ckpt}`
    if (end.stopped === 'training') console.log(`=> interrupted: saved ${ckpt} at epoch ${end.epoch}, batch ${end.batch}; ${resumeHint}`)
    // Training of this epoch is complete (batch = total); --resume skips to its validation.
    if (end.stopped === 'validation') console.log(`=> interrupted during validation: saved ${ckpt} at epoch ${end.epoch} (training done, validation redone on --resume); ${resumeHint}`)
    if (end.stopped === 'after-epoch') console.log(`=> interrupted after epoch ${end.epoch}: saved ${ckpt}; ${resumeHint}`)
    if (end.stopped) exitCode = 130
    else console.log(`Training Finished (best Acc@1 ${state.bestAcc1.toFixed(3)}); report: pnpm resnet report --run ${runDir}`)
  } finally {
    ctrlC.close()
    writer.close()
    await Promise.all([trainLoader.close(), valLoader.close()])
    await dp?.dispose()
    compiled?.dispose()
    evaluator.dispose()
    sgd.dispose()
    model.dispose()
  }
  return exitCode
}

export const trainCommand: Subcommand = { describe: 'train a ResNet like imagenet/main.py (no DIR: a generated demo dataset)', run }
