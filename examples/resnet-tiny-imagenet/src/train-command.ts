/**
 * `pnpm resnet train [DIR]`: pytorch/examples imagenet/main.py for Tiny-ImageNet, with the reference run's changes (val
 * labels from val_annotations.txt, the four TensorBoard scalars per epoch, checkpoint_epoch5/10 snapshots), composed from
 * the packages: data (tiny-imagenet-data), model (resnet-models), SGD + schedules (train-loop), meters and TensorBoard
 * (metrics-logger), checkpoints (checkpoint-io), backend (multi-device).
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs-core'
import {
  CHECKPOINT_FORMATS,
  CheckpointManager,
  type CheckpointFormat,
  HostTensor,
  asTrainingState,
  loadCheckpoint,
  loadStateDict,
  optimizerStateFromTorch,
  optimizerStateToTorch,
  saveCheckpoint,
  toStateDict,
  type CheckpointValue,
  type StateDict,
  type TrainingState,
} from '@tinylab/checkpoint-io'
import { AverageMeter, ProgressMeter, Summary, SummaryWriter, runDirName } from '@tinylab/metrics-logger'
import { initBackend, type Device } from '@tinylab/multi-device'
import { compiledTrainer } from './compiled-train-step'
import { createResNet, formatSummary, resnetArchs, summary, type ResNet, type ResNetStem } from '@tinylab/resnet-models'
import { TinyImageNetLoader, readSplit, type Augment } from '@tinylab/tiny-imagenet-data'
import { CosineAnnealingLR, SGD, StepLR, accuracyAsync, trainStepAsync, type CosineAnnealingLRState, type SGDStateDict, type StepLRState } from '@tinylab/train-loop'
import { asUsage, choice, formatHelp, nonNegativeFloat, nonNegativeInt, positiveInt } from './_flags'
import { SYNTHETIC_DEFAULTS, ensureSyntheticDataset } from './synthetic-data'
import { startReplicas, syncFromReplicas } from './replicas'
import { assertResumeClasses, checkCheckpointSpace, classesOf, prepareRunOutputs, sameClasses } from './run-guards'
import { UsageError, type Subcommand } from './usage-error'

const archs = Object.keys(resnetArchs)
const stems: readonly ResNetStem[] = ['imagenet', 'cifar']
const devices: readonly Device[] = ['auto', 'wasm', 'wasm+native', 'cpu', 'webgpu', 'tensorflow']
const augments = ['none', 'crop', 'rrc'] as const
const schedules = ['step', 'cosine'] as const
const AUGMENT: Record<(typeof augments)[number], Augment> = { none: 'none', crop: 'random-crop', rrc: 'random-resized-crop' }

/** main.py's defaults; `DEMO` replaces some of them when no data folder is given. */
const DEFAULTS = {
  arch: 'resnet18',
  workers: '4',
  epochs: '90',
  'start-epoch': '0',
  'batch-size': '256',
  lr: '0.1',
  momentum: '0.9',
  'weight-decay': '1e-4',
  'print-freq': '10',
  seed: '0',
  device: 'auto',
  devices: '1',
  logdir: 'runs',
  'checkpoint-epochs': '5,10',
  'checkpoint-format': 'pth',
  stem: 'imagenet',
  augment: 'crop',
  'lr-schedule': 'step',
  'micro-batch': 'auto',
} as const
const DEMO: Partial<Record<keyof typeof DEFAULTS, string>> = { epochs: '3', 'batch-size': '32', 'print-freq': '5', 'lr-schedule': 'cosine', lr: '0.05', workers: '2' }
export const SYNTHETIC_DIR = path.join('.cache', 'tiny-imagenet-synthetic')

const flagHelp: [string, string][] = [
  ['DIR, --data DIR', 'Tiny-ImageNet folder (wnids.txt, train/, val/); none: a generated demo dataset in .cache/ (see below)'],
  [`-a, --arch {${archs.join(',')}}`, 'model architecture (default: resnet18)'],
  ['-j, --workers N', 'data loading threads (default: 4)'],
  ['--epochs N', 'number of total epochs to run (default: 90)'],
  ['--start-epoch N', 'manual epoch number, useful on restarts (default: 0)'],
  ['-b, --batch-size N', 'mini-batch size (default: 256)'],
  ['--lr LR', 'initial learning rate (default: 0.1)'],
  ['--momentum M', 'SGD momentum (default: 0.9)'],
  ['--wd, --weight-decay W', 'weight decay (default: 1e-4)'],
  ['-p, --print-freq N', 'print every N batches (default: 10)'],
  ['--resume PATH', 'checkpoint to continue from exactly (epoch, step in the epoch, lr, momentum, best acc, data order) in a new run folder under --logdir (default: none)'],
  ['-e, --evaluate', 'evaluate the model on the validation set and exit (with --resume or --pretrained) (default: off)'],
  ['--pretrained FILE', 'start from a local torchvision .pth or TinyLab checkpoint; a head of another size or other classes is re-initialised (default: none)'],
  ['--seed N', 'seed of the initial weights, the data order and the augmentation (default: 0)'],
  [`--device {${devices.join(',')}}`, "TensorFlow.js device; replaces main.py's --gpu/--dist-url (default: auto = wasm, + native kernels when present)"],
  ['--devices N', 'data-parallel replicas in worker threads, each with its own --device backend and 1/N of every batch (default: 1)'],
  ['--logdir DIR', 'parent of the run folder <Mon><dd>_<HH-MM-SS>_<arch> (default: runs)'],
  ['--save-dir DIR', 'where checkpoints go (default: the run folder)'],
  ['--checkpoint-epochs LIST', 'keep checkpoint_epochN after these many completed epochs (default: 5,10)'],
  ['--checkpoint-format FMT', 'pth: checkpoint.pth.tar as main.py, for torch.load; safetensors (default: pth)'],
  [`--stem {${stems.join(',')}}`, '7x7/2 conv + max-pool (torchvision), or 3x3/1 conv without pool (default: imagenet)'],
  [`--augment {${augments.join(',')}}`, 'crop = RandomCrop(64, padding 4) + flip; rrc = RandomResizedCrop(64) + flip (default: crop)'],
  [`--lr-schedule {${schedules.join(',')}}`, 'StepLR(30, 0.1) as main.py, or CosineAnnealingLR(T_max = epochs) (default: step)'],
  ['--max-steps N', 'smoke runs: at most N training (and validation) batches per epoch (default: all)'],
  ['--classes W1,W2,...', 'train on these wnids only (default: all)'],
  ['--num-classes-subset K', 'train on the first K wnids of wnids.txt (default: all)'],
  ['--num-classes N', 'width of the final Linear layer (default: number of selected classes)'],
  ['--cache FILE', 'packed uint8 cache of decoded train images (val: FILE.val) (default: none)'],
  ['--micro-batch N', 'images per forward/backward; gradients accumulate to the batch (default: auto = fit the 4 GiB wasm heap)'],
  ['-h, --help', 'show this help'],
]
const HELP = [
  formatHelp(
    'usage: pnpm resnet train [DIR] [-a ARCH] [-j N] [--epochs N] [-b N] [--lr LR] [--resume PATH] [-e] [--device DEVICE] [...]',
    'Train a ResNet on Tiny-ImageNet like pytorch/examples imagenet/main.py: prints the layer table, the Epoch/Test\n' +
      'progress lines, logs TensorBoard scalars (scalar/train_loss, train_acc, val_loss, val_acc) and saves checkpoint,\n' +
      'model_best and checkpoint_epochN. Ctrl-C finishes the step (or abandons validation), saves the position and exits.',
    flagHelp,
  ),
  '',
  `Without DIR: generates ${SYNTHETIC_DEFAULTS.classes} synthetic classes in the real layout into ${SYNTHETIC_DIR} (once) and trains a`,
  `quick demo with ${Object.entries(DEMO).map(([k, v]) => `--${k} ${v}`).join(' ')} unless given. Real data:`,
  '  pnpm resnet download --out ./data && pnpm resnet train ./data/tiny-imagenet-200',
].join('\n')

/** Measured: ResNet-18, 64x64, imagenet stem needs ~16.7 MiB of wasm heap per image in a training step, 3.26x the
 * forward/backward size torchsummary estimates (5.13 MB); other shapes scale by their torchsummary estimate. */
const HEAP_PER_SUMMARY_MB = 16.7 / 5.13
/** The wasm heap is capped at 4 GiB; leave room for weights, momentum, gradients and the batch itself. */
const WASM_ACTIVATION_BUDGET_MIB = 3072

export interface TrainArgs {
  data: string | undefined
  arch: string
  workers: number
  epochs: number
  startEpoch: number
  batchSize: number
  lr: number
  momentum: number
  weightDecay: number
  printFreq: number
  resume: string | undefined
  evaluate: boolean
  pretrained: string | undefined
  seed: number
  device: Device
  devices: number
  logdir: string
  saveDir: string | undefined
  checkpointEpochs: number[]
  checkpointFormat: CheckpointFormat
  stem: ResNetStem
  augment: (typeof augments)[number]
  lrSchedule: (typeof schedules)[number]
  maxSteps: number | undefined
  classes: string[] | undefined
  numClassesSubset: number | undefined
  numClasses: number | undefined
  cache: string | undefined
  microBatch: number | 'auto'
}

function parseTrainArgs(argv: string[]): { args: TrainArgs; demo: string[]; given: Set<string> } | 'help' {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
      data: { type: 'string' },
      arch: { type: 'string', short: 'a' },
      workers: { type: 'string', short: 'j' },
      epochs: { type: 'string' },
      'start-epoch': { type: 'string' },
      'batch-size': { type: 'string', short: 'b' },
      lr: { type: 'string' },
      'learning-rate': { type: 'string' },
      momentum: { type: 'string' },
      wd: { type: 'string' },
      'weight-decay': { type: 'string' },
      'print-freq': { type: 'string', short: 'p' },
      resume: { type: 'string' },
      evaluate: { type: 'boolean', short: 'e' },
      pretrained: { type: 'string' },
      seed: { type: 'string' },
      device: { type: 'string' },
      devices: { type: 'string' },
      logdir: { type: 'string' },
      'save-dir': { type: 'string' },
      'checkpoint-epochs': { type: 'string' },
      'checkpoint-format': { type: 'string' },
      stem: { type: 'string' },
      augment: { type: 'string' },
      'lr-schedule': { type: 'string' },
      'max-steps': { type: 'string' },
      classes: { type: 'string' },
      'num-classes-subset': { type: 'string' },
      'num-classes': { type: 'string' },
      cache: { type: 'string' },
      'micro-batch': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (values.help) return 'help'
  if (positionals.length > 1) throw new UsageError(`unrecognized arguments: ${positionals.slice(1).join(' ')}`)
  if (positionals.length === 1 && values.data !== undefined) throw new UsageError('argument DIR: give the data folder once (DIR or --data)')
  const data = positionals[0] ?? values.data
  const given: Record<string, string | undefined> = {
    ...values,
    lr: values.lr ?? values['learning-rate'],
    'weight-decay': values['weight-decay'] ?? values.wd,
  } as unknown as Record<string, string | undefined>
  const demo: string[] = []
  const get = (key: keyof typeof DEFAULTS): string => {
    const v = given[key]
    if (typeof v === 'string') return v
    const d = data === undefined && !values.resume ? DEMO[key] : undefined
    if (d !== undefined) {
      demo.push(`--${key} ${d}`)
      return d
    }
    return DEFAULTS[key]
  }
  const checkpointEpochs = get('checkpoint-epochs')
    .split(',')
    .filter((s) => s !== '')
    .map((s) => positiveInt('--checkpoint-epochs', s))
  const microRaw = get('micro-batch')
  const classes = typeof values.classes === 'string' ? values.classes.split(',').filter((s) => s !== '') : undefined
  if (classes !== undefined && classes.length === 0) throw new UsageError("argument --classes: expected wnids separated by commas, got ''")
  const args: TrainArgs = {
    data,
    arch: choice('-a/--arch', get('arch'), archs),
    workers: nonNegativeInt('-j/--workers', get('workers')),
    epochs: positiveInt('--epochs', get('epochs')),
    startEpoch: nonNegativeInt('--start-epoch', get('start-epoch')),
    batchSize: positiveInt('-b/--batch-size', get('batch-size')),
    lr: nonNegativeFloat('--lr', get('lr')),
    momentum: nonNegativeFloat('--momentum', get('momentum')),
    weightDecay: nonNegativeFloat('--wd/--weight-decay', get('weight-decay')),
    printFreq: positiveInt('-p/--print-freq', get('print-freq')),
    resume: values.resume,
    evaluate: values.evaluate ?? false,
    pretrained: values.pretrained,
    seed: nonNegativeInt('--seed', get('seed')),
    device: choice('--device', get('device'), devices),
    devices: positiveInt('--devices', get('devices')),
    logdir: get('logdir'),
    saveDir: values['save-dir'],
    checkpointEpochs,
    checkpointFormat: choice('--checkpoint-format', get('checkpoint-format'), CHECKPOINT_FORMATS),
    stem: choice('--stem', get('stem'), stems),
    augment: choice('--augment', get('augment'), augments),
    lrSchedule: choice('--lr-schedule', get('lr-schedule'), schedules),
    maxSteps: values['max-steps'] === undefined ? undefined : positiveInt('--max-steps', values['max-steps']),
    classes,
    numClassesSubset: values['num-classes-subset'] === undefined ? undefined : positiveInt('--num-classes-subset', values['num-classes-subset']),
    numClasses: values['num-classes'] === undefined ? undefined : positiveInt('--num-classes', values['num-classes']),
    cache: values.cache,
    microBatch: microRaw === 'auto' ? 'auto' : positiveInt('--micro-batch', microRaw),
  }
  return { args, demo, given: new Set(Object.keys(given).filter((k) => given[k] !== undefined)) }
}

/** What a checkpoint adds to main.py's keys so `--resume` continues exactly. */
interface ResumeState {
  epoch: number
  /** Next batch of `epoch` (0 when the epoch is complete). */
  batch: number
  globalStep: number
  bestAcc1: number
  /** Train meters of the interrupted epoch, so its logged averages equal an uninterrupted run's. */
  meters: { loss: number; acc1: number; acc5: number; count: number } | undefined
  microBatch: number | undefined
}

function num(v: CheckpointValue | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback
}

/** A checkpoint's state dict: TinyLab/main.py checkpoints hold it under `state_dict`; torchvision files are one. */
function stateDictOf(value: Record<string, CheckpointValue>, file: string): StateDict {
  const inner = value.state_dict
  const dict = inner !== undefined ? inner : value
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict) || dict instanceof HostTensor || dict instanceof Uint8Array)
    throw new Error(`${file}: no state_dict in the checkpoint`)
  const out: StateDict = {}
  for (const [k, v] of Object.entries(dict)) if (v instanceof HostTensor) out[k] = v
  if (Object.keys(out).length === 0) throw new Error(`${file}: the checkpoint holds no tensors`)
  return out
}

function loadPretrained(model: ResNet, value: Record<string, CheckpointValue>, file: string, selected: string[]): void {
  const dict = stateDictOf(value, file)
  const fc = model.namedTensors().filter((t) => t.name.startsWith('fc.'))
  const sizeMismatch = fc.some((t) => {
    const h = dict[t.name]
    return h !== undefined && h.shape[0] !== model.numClasses
  })
  // A head of the right size trained on other classes would give its rows to the wrong classes.
  const saved = classesOf(value)
  const otherClasses = !sizeMismatch && saved !== undefined && !sameClasses(saved, selected)
  const headMismatch = sizeMismatch || otherClasses
  if (otherClasses) {
    for (const t of fc) delete dict[t.name]
    console.log(`=> pretrained head was trained on other classes: fc re-initialised for the ${selected.length} selected`)
  } else if (headMismatch) {
    const classes = dict['fc.bias']?.shape[0] ?? 'another number of'
    for (const t of fc) delete dict[t.name]
    console.log(`=> pretrained head has ${classes} classes: fc re-initialised for ${model.numClasses}`)
  }
  loadStateDict(model.namedTensors(), dict, { strict: !headMismatch, modelName: 'ResNet' })
}

function microBatchFor(args: TrainArgs, backend: string, summaryMB: number): { size: number; reason: string } {
  if (args.microBatch !== 'auto') return { size: Math.min(args.microBatch, args.batchSize), reason: 'set by --micro-batch' }
  if (backend !== 'wasm') return { size: args.batchSize, reason: `no limit on ${backend}` }
  const perImageMiB = summaryMB * HEAP_PER_SUMMARY_MB
  const fit = Math.max(1, Math.floor(WASM_ACTIVATION_BUDGET_MIB / perImageMiB))
  if (fit >= args.batchSize) return { size: args.batchSize, reason: 'the batch fits the wasm heap' }
  const parts = Math.ceil(args.batchSize / fit)
  return {
    size: Math.ceil(args.batchSize / parts),
    reason: `batch ${args.batchSize} needs ~${((args.batchSize * perImageMiB) / 1024).toFixed(1)} GiB of wasm heap (~${perImageMiB.toFixed(1)} MiB/image), the heap is capped at 4 GiB`,
  }
}

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
    const sched = resumed.scheduler as { type?: unknown } | undefined
    if (!given.has('lr-schedule') && sched && typeof sched === 'object' && (sched.type === 'step' || sched.type === 'cosine')) args.lrSchedule = sched.type
    if (!given.has('stem') && (resumed.stem === 'imagenet' || resumed.stem === 'cifar')) args.stem = resumed.stem
  }
  // A resumed run keeps its classes (saved list) unless overridden.
  const savedClasses = resumed && Array.isArray(resumed.classes) ? (resumed.classes.filter((c) => typeof c === 'string') as string[]) : undefined
  let classSel: { classes?: string[]; numClasses?: number } = {}
  if (args.classes) classSel = { classes: args.numClassesSubset ? args.classes.slice(0, args.numClassesSubset) : args.classes }
  else if (args.numClassesSubset) classSel = { numClasses: args.numClassesSubset }
  else if (savedClasses) classSel = { classes: savedClasses }
  const trainList = readSplit(root, 'train', classSel)
  const valList = readSplit(root, 'val', classSel)
  const wnids = trainList.classes.wnids
  const numClasses = args.numClasses ?? num(resumed?.num_classes, wnids.length)
  if (numClasses < wnids.length) throw new UsageError(`argument --num-classes: ${numClasses} is fewer than the ${wnids.length} selected classes`)
  if (args.resume !== undefined && savedClasses !== undefined && (args.classes || args.numClassesSubset))
    assertResumeClasses(args.resume, savedClasses, wnids, args.classes ? '--classes' : '--num-classes-subset')

  // Everything that can fail on the user's files fails here, before the backend starts and the model is built.
  prepareRunOutputs(args.evaluate ? undefined : args.logdir, args.evaluate ? undefined : args.saveDir, args.cache)
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
  if (!args.evaluate) checkCheckpointSpace(args.logdir, args.saveDir, 8 * modelSummary.totalParams)
  if (args.pretrained !== undefined && pretrained !== undefined) {
    console.log(`=> using pre-trained model '${args.pretrained}'`)
    loadPretrained(model, pretrained, args.pretrained, wnids)
  }
  const params = model.parameters()
  const sgd = new SGD(params, { lr: args.lr, momentum: args.momentum, weightDecay: args.weightDecay })
  const scheduler = args.lrSchedule === 'cosine' ? new CosineAnnealingLR(sgd, { tMax: args.epochs }) : new StepLR(sgd, { stepSize: 30, gamma: 0.1 })

  const state: ResumeState = { epoch: args.startEpoch, batch: 0, globalStep: 0, bestAcc1: 0, meters: undefined, microBatch: undefined }
  if (resumed && args.resume) {
    const ckpt = resumed
    loadStateDict(model.namedTensors(), ckpt.state_dict, { modelName: 'ResNet' })
    if (ckpt.optimizer !== undefined) {
      const opt = optimizerStateFromTorch<SGDStateDict>(ckpt.optimizer, params)
      sgd.loadStateDict(opt)
      tf.dispose(Object.values(opt.state).flatMap((s) => (s.momentum_buffer ? [s.momentum_buffer] : [])))
    }
    const sched = ckpt.scheduler as { type?: string } | undefined
    if (sched && typeof sched === 'object') {
      if (sched.type !== args.lrSchedule) throw new UsageError(`argument --lr-schedule: the checkpoint was trained with '${String(sched.type)}', got '${args.lrSchedule}'`)
      if (scheduler instanceof StepLR) scheduler.loadStateDict(sched as unknown as StepLRState)
      else scheduler.loadStateDict(sched as unknown as CosineAnnealingLRState)
    }
    const meters = ckpt.meters as Record<string, number> | undefined
    Object.assign(state, {
      epoch: ckpt.epoch,
      batch: num(ckpt.batch, 0),
      globalStep: num(ckpt.global_step, 0),
      bestAcc1: ckpt.best_acc1,
      meters: meters && typeof meters === 'object' ? { loss: num(meters.loss, 0), acc1: num(meters.acc1, 0), acc5: num(meters.acc5, 0), count: num(meters.count, 0) } : undefined,
      microBatch: typeof ckpt.micro_batch === 'number' ? ckpt.micro_batch : undefined,
    })
    console.log(`=> loaded checkpoint '${args.resume}' (epoch ${state.epoch}${state.batch ? `, batch ${state.batch}` : ''}, best acc@1 ${state.bestAcc1.toFixed(3)})`)
  }

  // wasm+native keeps its tensors in the wasm heap too, so the 4 GiB cap applies to both.
  const heapCapped = info.backend === 'wasm' || info.device === 'wasm' || info.device === 'wasm+native'
  let micro = microBatchFor(args, heapCapped ? 'wasm' : info.backend, modelSummary.forwardBackwardSizeMB)
  if (state.microBatch !== undefined && args.microBatch === 'auto') micro = { size: state.microBatch, reason: 'kept from the checkpoint' }
  // Each replica's heap holds only its 1/N shard: data parallelism replaces gradient accumulation.
  if (args.devices > 1) micro = { size: args.batchSize, reason: `${args.devices} replicas split each batch` }
  const parts = Math.ceil(args.batchSize / micro.size)
  if (parts > 1) {
    console.log(
      `=> micro-batches: ${parts} x ${micro.size} images per step of ${args.batchSize} with gradient accumulation (${micro.reason}); ` +
        'BatchNorm normalises each micro-batch separately, as DistributedDataParallel does per GPU',
    )
  }

  const loaderOptions = { batchSize: args.batchSize, workers: args.workers, seed: args.seed }
  const valCache = args.cache ? `${args.cache}.val` : undefined
  const valLoader = await TinyImageNetLoader.create(valList.samples, { ...loaderOptions, shuffle: false, augment: 'none', cache: valCache, verbose: true })
  const topk = [1, Math.min(5, numClasses)]
  let stopRequested = false
  /** Main.py's validate(); undefined when Ctrl-C abandoned it (a resumed run validates again). */
  const runValidation = async (): Promise<{ acc1: number; loss: number } | undefined> => {
    const total = Math.min(valLoader.numBatches, args.maxSteps ?? Infinity)
    const batchTime = new AverageMeter('Time', ':6.3f', Summary.NONE)
    const losses = new AverageMeter('Loss', ':.4e', Summary.NONE)
    const top1 = new AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE)
    const top5 = new AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE)
    const progress = new ProgressMeter(total, [batchTime, losses, top1, top5], 'Test: ')
    let end = performance.now()
    let i = 0
    for await (const { x, y } of valLoader.batches(0)) {
      if (i >= total || stopRequested) {
        tf.dispose([x, y])
        break
      }
      // Values are read with await: WebGPU tensors cannot be read synchronously in Node.
      const { logits, lossT } = tf.tidy(() => {
        const logits = model.forward(x, { training: false })
        return { logits, lossT: tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), logits) as tf.Scalar }
      })
      const loss = (await lossT.data())[0] as number
      const [a1, a5] = (await accuracyAsync(logits, y, topk)) as [number, number]
      tf.dispose([logits, lossT])
      const n = y.shape[0]
      tf.dispose([x, y])
      losses.update(loss, n)
      top1.update(a1, n)
      top5.update(a5, n)
      batchTime.update((performance.now() - end) / 1000)
      end = performance.now()
      if (i % args.printFreq === 0) progress.display(i)
      i++
      await letSignalsIn()
    }
    if (stopRequested) return undefined
    progress.displaySummary()
    return { acc1: top1.avg, loss: losses.avg }
  }

  if (args.evaluate) {
    try {
      await runValidation()
    } finally {
      await valLoader.close()
      model.dispose()
    }
    return 0
  }

  // A resumed run gets its own folder under --logdir: the run it came from (maybe a copy) is never written to.
  const runDir = path.join(args.logdir, runDirName(args.arch))
  const writer = new SummaryWriter({ runDir })
  const saveDir = args.saveDir ?? runDir
  const checkpoints = await CheckpointManager.open({ dir: saveDir, keepEpochs: args.checkpointEpochs, format: args.checkpointFormat })
  const stepsLog = path.join(runDir, 'steps.jsonl')
  mkdirSync(runDir, { recursive: true })
  console.log(`=> run folder ${runDir} (TensorBoard: tensorboard --logdir ${args.logdir}); checkpoints in ${saveDir}`)
  writeFileSync(
    path.join(runDir, 'hparams.json'),
    JSON.stringify(
      { ...args, data: root, numClasses, classes: wnids, microBatch: micro.size, device: info.device, threads: info.threads ?? null, resumedFrom: args.resume ? path.resolve(args.resume) : null },
      null,
      2,
    ) + '\n',
  )
  writer.addText('args', ['| flag | value |', '|---|---|', ...Object.entries(args).map(([k, v]) => `| ${k} | ${JSON.stringify(v)} |`)].join('\n'))

  const trainLoader = await TinyImageNetLoader.create(trainList.samples, {
    ...loaderOptions,
    augment: AUGMENT[args.augment],
    flip: args.augment !== 'none',
    cache: args.cache,
    verbose: true,
  })

  const onSigint = (): void => {
    if (stopRequested) {
      console.error('\n=> second Ctrl-C: aborting without saving')
      process.exit(130)
    }
    stopRequested = true
    console.error('\n=> Ctrl-C: finishing the current step, then saving a checkpoint (Ctrl-C again to abort)')
  }
  process.on('SIGINT', onSigint)

  const saveState = async (epoch: number, batch: number, meters: ResumeState['meters'], isBest: boolean): Promise<void> => {
    const sched = { type: args.lrSchedule, ...scheduler.stateDict() } as unknown as CheckpointValue
    const value: Record<string, CheckpointValue> & { epoch: number } = {
      epoch,
      arch: args.arch,
      state_dict: await toStateDict(model.namedTensors()),
      best_acc1: state.bestAcc1,
      optimizer: await optimizerStateToTorch(sgd.stateDict(), params),
      scheduler: sched,
      batch,
      global_step: state.globalStep,
      meters: meters ?? null,
      rng: { seed: args.seed, note: 'data order and augmentation are seeded per (seed, epoch, sample); weights by seed' },
      micro_batch: micro.size,
      classes: wnids,
      num_classes: numClasses,
      stem: args.stem,
      run_dir: runDir,
    }
    if (batch === 0) await checkpoints.save(value, { isBest })
    else await saveCheckpoint(checkpoints.path('checkpoint'), value, checkpoints.format)
  }

  const dp = args.devices > 1 ? await startReplicas({ ...args, numClasses }, model, sgd) : undefined
  // --device webgpu with whole batches on this thread: the compiled step (compiled-train-step.ts).
  const compiled = info.device === 'webgpu' && !dp && micro.size >= args.batchSize ? compiledTrainer(model, params, sgd, numClasses, topk) : undefined
  /** The main model (validation, checkpoints) takes the replicas' weights, buffers and momentum. */
  const sync = (): void => {
    if (dp) syncFromReplicas(dp, model, sgd)
  }

  /** One SGD step on a batch (replicas, or micro-batches on this thread); train Acc@1/5 from the step's own logits. */
  const trainOnBatch = async (x: tf.Tensor4D, y: tf.Tensor1D, lr: number): Promise<{ loss: number; acc1: number; acc5: number }> => {
    const n = y.shape[0]
    if (dp) {
      const r = await dp.step(x, y, lr, { topk })
      tf.dispose([x, y])
      const [h1 = 0, h5 = 0] = r.correct ?? []
      return { loss: r.loss, acc1: (100 * h1) / n, acc5: (100 * h5) / n }
    }
    if (compiled) {
      const r = await compiled.step(x, y)
      tf.dispose([x, y])
      return r
    }
    const sizes: number[] = []
    for (let s = 0; s < n; s += micro.size) sizes.push(Math.min(micro.size, n - s))
    const xs = sizes.length > 1 ? tf.split(x, sizes, 0) : [x]
    const ys = sizes.length > 1 ? tf.split(y, sizes, 0) : [y]
    const logits: tf.Tensor2D[] = []
    const { loss } = await trainStepAsync({
      params,
      optimizer: sgd,
      microBatches: sizes.length,
      microWeights: sizes.map((s) => s / n),
      loss: (m) => {
        const out = model.forward(xs[m] as tf.Tensor4D, { training: true })
        logits.push(tf.keep(out))
        return tf.losses.softmaxCrossEntropy(tf.oneHot(ys[m] as tf.Tensor1D, numClasses), out) as tf.Scalar
      },
    })
    const allLogits = logits.length > 1 ? tf.concat(logits, 0) : (logits[0] as tf.Tensor2D)
    const [a1 = 0, a5 = 0] = await accuracyAsync(allLogits, y, topk)
    if (logits.length > 1) allLogits.dispose()
    tf.dispose([...logits, x, y, ...(sizes.length > 1 ? [...xs, ...ys] : [])])
    return { loss, acc1: a1, acc5: a5 }
  }

  let exitCode = 0
  try {
    for (let epoch = state.epoch; epoch < args.epochs; epoch++) {
      const total = Math.min(trainLoader.numBatches, args.maxSteps ?? Infinity)
      const startBatch = epoch === state.epoch ? state.batch : 0
      const batchTime = new AverageMeter('Time', ':6.3f')
      const dataTime = new AverageMeter('Data', ':6.3f')
      const losses = new AverageMeter('Loss', ':.4e')
      const top1 = new AverageMeter('Acc@1', ':6.2f')
      const top5 = new AverageMeter('Acc@5', ':6.2f')
      if (startBatch > 0 && state.meters) {
        const m = state.meters
        Object.assign(losses, { sum: m.loss, count: m.count, avg: m.count ? m.loss / m.count : 0 })
        Object.assign(top1, { sum: m.acc1, count: m.count, avg: m.count ? m.acc1 / m.count : 0 })
        Object.assign(top5, { sum: m.acc5, count: m.count, avg: m.count ? m.acc5 / m.count : 0 })
      }
      const progress = new ProgressMeter(total, [batchTime, dataTime, losses, top1, top5], `Epoch: [${epoch}]`)
      const epochLr = sgd.lr
      let i = startBatch
      let end = performance.now()
      if (startBatch < total) {
        for await (const { x, y } of trainLoader.batches(epoch, { startBatch })) {
          dataTime.update((performance.now() - end) / 1000)
          const n = y.shape[0]
          const lr = sgd.lr
          const { loss, acc1: a1, acc5: a5 } = await trainOnBatch(x, y, lr)
          losses.update(loss, n)
          top1.update(a1, n)
          top5.update(a5, n)
          state.globalStep++
          appendFileSync(stepsLog, JSON.stringify({ epoch, batch: i, step: state.globalStep, loss, acc1: a1, lr }) + '\n')
          batchTime.update((performance.now() - end) / 1000)
          end = performance.now()
          if (i % args.printFreq === 0) progress.display(i)
          i++
          if (i >= total) break
          await letSignalsIn()
          if (stopRequested) break
        }
      }
      sync()
      if (stopRequested && i < total) {
        await saveState(epoch, i, { loss: losses.sum, acc1: top1.sum, acc5: top5.sum, count: losses.count }, false)
        writer.flush()
        console.log(`=> interrupted: saved ${checkpoints.path('checkpoint')} at epoch ${epoch}, batch ${i}; continue with --resume ${checkpoints.path('checkpoint')}`)
        exitCode = 130
        break
      }
      const val = await runValidation()
      if (val === undefined) {
        // Training of this epoch is complete (batch = total); --resume skips to its validation.
        await saveState(epoch, i, { loss: losses.sum, acc1: top1.sum, acc5: top5.sum, count: losses.count }, false)
        writer.flush()
        console.log(`=> interrupted during validation: saved ${checkpoints.path('checkpoint')} at epoch ${epoch} (training done, validation redone on --resume); continue with --resume ${checkpoints.path('checkpoint')}`)
        exitCode = 130
        break
      }
      scheduler.step()
      const isBest = val.acc1 > state.bestAcc1
      state.bestAcc1 = Math.max(val.acc1, state.bestAcc1)
      await saveState(epoch + 1, 0, undefined, isBest)
      writer.addScalar('scalar/train_loss', losses.avg, epoch)
      writer.addScalar('scalar/train_acc', top1.avg, epoch)
      writer.addScalar('scalar/val_loss', val.loss, epoch)
      writer.addScalar('scalar/val_acc', val.acc1, epoch)
      writer.addScalar('scalar/lr', epochLr, epoch)
      writer.flush()
      if (stopRequested) {
        console.log(`=> interrupted after epoch ${epoch}: saved ${checkpoints.path('checkpoint')}; continue with --resume ${checkpoints.path('checkpoint')}`)
        exitCode = 130
        break
      }
    }
    if (exitCode === 0) console.log(`Training Finished (best Acc@1 ${state.bestAcc1.toFixed(3)}); report: pnpm resnet report --run ${runDir}`)
  } finally {
    process.off('SIGINT', onSigint)
    writer.close()
    await Promise.all([trainLoader.close(), valLoader.close()])
    await dp?.dispose()
    sgd.dispose()
    model.dispose()
  }
  return exitCode
}

export const trainCommand: Subcommand = { describe: 'train a ResNet like imagenet/main.py (no DIR: a generated demo dataset)', run }

/**
 * Waits one turn of the event loop. Node delivers SIGINT to its handler only there, and a training loop whose batches
 * are already prefetched awaits only settled promises (microtasks), so without this Ctrl-C waited for many steps.
 */
function letSignalsIn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
