/**
 * `pnpm wordlm context-study` flags, declared once: parser, defaults and `--help` come from this list. `--quick` swaps
 * in small models and a short budget (`QUICK`) for every flag the command line does not set itself.
 */
import { flagTable, parseFlags, UsageError, type FlagValues } from '@tinylab/cli-flags'
import { DEVICES } from '../main-train'

export const STUDY_FLAGS = flagTable({
  data: { names: ['--data'], type: 'string', default: './data/wikitext-2', help: 'location of the data corpus' },
  out: { names: ['--out'], type: 'string', default: 'context-study', help: 'folder for report.md, the plots, CSV and JSON (created; files in it are replaced)' },
  checkpoints: { names: ['--checkpoints'], type: 'string', default: '', help: "load Transformer.pt, LSTM.pt, GCNN.pt from this folder instead of training ('' = train, saving them under --out/checkpoints)" },
  quick: { names: ['--quick'], type: 'bool', help: 'CI mode: small models, a few batches, a slice of the test split' },
  epochs: { names: ['--epochs'], type: 'int', min: 1, default: 1, help: 'training budget in epochs, the same for every model' },
  max_batches: { names: ['--max-batches'], type: 'int', min: 0, default: 0, help: 'cap the budget at N training batches per model (0 = the whole --epochs)' },
  batch_size: { names: ['--batch_size', '--batch-size'], type: 'int', min: 1, default: 20, help: 'training batch size' },
  bptt: { names: ['--bptt'], type: 'int', min: 1, default: 128, help: "training sequence length: the Transformer's window, the longest context measured and the sensitivity window" },
  emsize: { names: ['--emsize'], type: 'int', min: 1, default: 200, help: 'size of word embeddings (every model)' },
  nhid: { names: ['--nhid'], type: 'int', min: 1, default: 200, help: 'hidden units per layer (every model)' },
  nlayers: { names: ['--nlayers'], type: 'int', min: 1, default: 2, help: 'Transformer and LSTM layers' },
  nhead: { names: ['--nhead'], type: 'int', min: 1, default: 2, help: 'Transformer attention heads' },
  gcnn_layers: { names: ['--gcnn-layers'], type: 'int', min: 1, default: 4, help: 'GCNN gated convolution layers' },
  kernel_size: { names: ['--kernel-size'], type: 'int', min: 1, default: 4, help: 'GCNN convolution width (receptive field: gcnn_layers·(kernel_size−1)+1 tokens)' },
  lr_transformer: { names: ['--lr-transformer'], type: 'float', min: 0, default: 5, help: 'Transformer SGD learning rate (the reference run uses 5)' },
  lr_lstm: { names: ['--lr-lstm'], type: 'float', min: 0, default: 20, help: "LSTM SGD learning rate (main.py's default)" },
  lr_gcnn: { names: ['--lr-gcnn'], type: 'float', min: 0, default: 5, help: 'GCNN SGD learning rate' },
  clip: { names: ['--clip'], type: 'float', min: 0, default: 0.25, help: 'gradient clipping' },
  dropout: { names: ['--dropout'], type: 'float', default: 0.2, help: 'dropout (every model)' },
  seed: { names: ['--seed'], type: 'int', default: 1111, help: 'random seed' },
  eval_tokens: { names: ['--eval-tokens'], type: 'int', min: 0, default: 0, help: 'measure on the first N tokens of the test split (0 = all)' },
  targets: { names: ['--targets'], type: 'int', min: 1, default: 2000, help: 'target tokens predicted at every context length' },
  sensitivity_samples: { names: ['--sensitivity-samples'], type: 'int', min: 1, default: 200, help: 'sequences whose input gradients are averaged' },
  speed_steps: { names: ['--speed-steps'], type: 'int', min: 0, default: 4, help: 'training steps per model and round timed in the same run for a fair tokens/s comparison (0 = skip)' },
  speed_rounds: { names: ['--speed-rounds'], type: 'int', min: 1, default: 2, help: 'alternating rounds of that timing; the best round counts' },
  device: { names: ['--device'], type: 'string', default: 'auto', help: 'TensorFlow.js backend', choices: DEVICES },
})

/** The defaults under --quick, where they differ. */
const QUICK: Partial<FlagValues<typeof STUDY_FLAGS>> = {
  max_batches: 60,
  batch_size: 10,
  bptt: 32,
  emsize: 16,
  nhid: 16,
  gcnn_layers: 2,
  kernel_size: 3,
  dropout: 0,
  eval_tokens: 4000,
  targets: 100,
  sensitivity_samples: 20,
  speed_steps: 1,
  speed_rounds: 1,
}

/** The help table: the flags, with --quick's values noted. */
export function studyHelpFlags(): typeof STUDY_FLAGS {
  const quick = QUICK as Record<string, unknown>
  const entries = Object.entries(STUDY_FLAGS).map(([k, spec]) => [k, quick[k] === undefined ? spec : { ...spec, help: `${spec.help}; --quick: ${String(quick[k])}` }])
  return Object.fromEntries(entries) as typeof STUDY_FLAGS
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
  speedSteps: number
  speedRounds: number
  device: string
}

/** Parses and checks the command line; bad values are UsageErrors naming the flag. */
export function parseStudyFlags(argv: readonly string[]): StudySettings {
  const quick = argv.includes('--quick')
  const { values: a } = parseFlags(argv, STUDY_FLAGS, quick ? { defaults: QUICK } : {})
  if (!(a.dropout >= 0 && a.dropout < 1)) throw new UsageError(`argument --dropout: invalid value: ${a.dropout} (must be in [0, 1))`)
  if (a.emsize % a.nhead !== 0) throw new UsageError(`argument --nhead: ${a.nhead} must divide --emsize ${a.emsize}`)
  if (a.out === '') throw new UsageError('argument --out: must name a folder')
  return {
    ...a,
    maxBatches: a.max_batches,
    batchSize: a.batch_size,
    gcnnLayers: a.gcnn_layers,
    kernelSize: a.kernel_size,
    lr: { Transformer: a.lr_transformer, LSTM: a.lr_lstm, GCNN: a.lr_gcnn },
    evalTokens: a.eval_tokens,
    sensitivitySamples: a.sensitivity_samples,
    speedSteps: a.speed_steps,
    speedRounds: a.speed_rounds,
  }
}
