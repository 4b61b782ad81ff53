/**
 * `pnpm wordlm context-study` flags, declared once: parser, defaults and `--help` come from this list. `--quick` swaps
 * in small models and a short budget (the `quick` column) for every flag the command line does not set itself.
 */
import type { FlagSpec, FlagValues } from '../cli-args'
import { dest, parseFlags, UsageError } from '../cli-args'
import { DEVICES } from '../main-train'

interface StudyFlagSpec extends FlagSpec {
  /** The value under --quick, when it differs from the default. */
  quick?: string | number | boolean
}

export const STUDY_FLAGS: StudyFlagSpec[] = [
  { name: '--data', type: 'string', default: './data/wikitext-2', help: 'location of the data corpus' },
  { name: '--out', type: 'string', default: 'context-study', help: 'folder for report.md, the plots, CSV and JSON (created; files in it are replaced)' },
  { name: '--checkpoints', type: 'string', default: '', help: "load Transformer.pt, LSTM.pt, GCNN.pt from this folder instead of training ('' = train, saving them under --out/checkpoints)" },
  { name: '--quick', type: 'bool', default: false, help: 'CI mode: small models, a few batches, a slice of the test split' },
  { name: '--epochs', type: 'int', default: 1, help: 'training budget in epochs, the same for every model' },
  { name: '--max-batches', type: 'int', default: 0, quick: 60, help: 'cap the budget at N training batches per model (0 = the whole --epochs)' },
  { name: '--batch_size', aliases: ['--batch-size'], type: 'int', default: 20, quick: 10, help: 'training batch size' },
  { name: '--bptt', type: 'int', default: 128, quick: 32, help: "training sequence length: the Transformer's window, the longest context measured and the sensitivity window" },
  { name: '--emsize', type: 'int', default: 200, quick: 16, help: 'size of word embeddings (every model)' },
  { name: '--nhid', type: 'int', default: 200, quick: 16, help: 'hidden units per layer (every model)' },
  { name: '--nlayers', type: 'int', default: 2, help: 'Transformer and LSTM layers' },
  { name: '--nhead', type: 'int', default: 2, help: 'Transformer attention heads' },
  { name: '--gcnn-layers', type: 'int', default: 4, quick: 2, help: 'GCNN gated convolution layers' },
  { name: '--kernel-size', type: 'int', default: 4, quick: 3, help: 'GCNN convolution width (receptive field: gcnn_layers·(kernel_size−1)+1 tokens)' },
  { name: '--lr-transformer', type: 'float', default: 5, help: 'Transformer SGD learning rate (the reference run uses 5)' },
  { name: '--lr-lstm', type: 'float', default: 20, help: "LSTM SGD learning rate (main.py's default)" },
  { name: '--lr-gcnn', type: 'float', default: 5, help: 'GCNN SGD learning rate' },
  { name: '--clip', type: 'float', default: 0.25, help: 'gradient clipping' },
  { name: '--dropout', type: 'float', default: 0.2, quick: 0, help: 'dropout (every model)' },
  { name: '--seed', type: 'int', default: 1111, help: 'random seed' },
  { name: '--eval-tokens', type: 'int', default: 0, quick: 4000, help: 'measure on the first N tokens of the test split (0 = all)' },
  { name: '--targets', type: 'int', default: 2000, quick: 100, help: 'target tokens predicted at every context length' },
  { name: '--sensitivity-samples', type: 'int', default: 200, quick: 20, help: 'sequences whose input gradients are averaged' },
  { name: '--device', type: 'string', default: 'auto', help: 'TensorFlow.js backend', choices: DEVICES },
]

/** The flags with --quick's defaults swapped in when `quick`. */
export function studyFlagSpecs(quick: boolean): FlagSpec[] {
  return STUDY_FLAGS.map(({ quick: q, ...spec }) => (quick && q !== undefined ? { ...spec, default: q } : spec))
}

/** The help lines: the flags, with --quick's values noted. */
export function studyHelpSpecs(): FlagSpec[] {
  return STUDY_FLAGS.map(({ quick: q, ...spec }) => (q === undefined ? spec : { ...spec, help: `${spec.help}; --quick: ${String(q)}` }))
}

export interface StudySettings {
  data: string
  out: string
  checkpoints: string
  quick: boolean
  epochs: number
  maxBatches: number
  batchSize: number
  bptt: number
  emsize: number
  nhid: number
  nlayers: number
  nhead: number
  gcnnLayers: number
  kernelSize: number
  lr: { Transformer: number; LSTM: number; GCNN: number }
  clip: number
  dropout: number
  seed: number
  evalTokens: number
  targets: number
  sensitivitySamples: number
  device: string
}

/** Parses and checks the command line; bad values are UsageErrors naming the flag. */
export function parseStudyFlags(argv: readonly string[]): StudySettings {
  const quick = argv.includes('--quick')
  const a: FlagValues = parseFlags(argv, studyFlagSpecs(quick))
  const atLeast = (min: number, names: string[]) => {
    for (const n of names) {
      if (!((a[n] as number) >= min)) {
        const flag = STUDY_FLAGS.find((f) => dest(f.name) === n)?.name ?? n
        throw new UsageError(`argument ${flag}: invalid value: ${a[n]} (must be >= ${min})`)
      }
    }
  }
  atLeast(1, ['epochs', 'batch_size', 'bptt', 'emsize', 'nhid', 'nlayers', 'nhead', 'gcnn_layers', 'kernel_size', 'targets', 'sensitivity_samples'])
  atLeast(0, ['max_batches', 'eval_tokens', 'lr_transformer', 'lr_lstm', 'lr_gcnn', 'clip'])
  if (!((a.dropout as number) >= 0 && (a.dropout as number) < 1)) throw new UsageError(`argument --dropout: invalid value: ${a.dropout} (must be in [0, 1))`)
  if ((a.emsize as number) % (a.nhead as number) !== 0) throw new UsageError(`argument --nhead: ${a.nhead} must divide --emsize ${a.emsize}`)
  if (a.out === '') throw new UsageError('argument --out: must name a folder')
  return {
    data: a.data as string,
    out: a.out as string,
    checkpoints: a.checkpoints as string,
    quick,
    epochs: a.epochs as number,
    maxBatches: a.max_batches as number,
    batchSize: a.batch_size as number,
    bptt: a.bptt as number,
    emsize: a.emsize as number,
    nhid: a.nhid as number,
    nlayers: a.nlayers as number,
    nhead: a.nhead as number,
    gcnnLayers: a.gcnn_layers as number,
    kernelSize: a.kernel_size as number,
    lr: { Transformer: a.lr_transformer as number, LSTM: a.lr_lstm as number, GCNN: a.lr_gcnn as number },
    clip: a.clip as number,
    dropout: a.dropout as number,
    seed: a.seed as number,
    evalTokens: a.eval_tokens as number,
    targets: a.targets as number,
    sensitivitySamples: a.sensitivity_samples as number,
    device: a.device as string,
  }
}
