/**
 * Writes the study's results into --out: report.md (tables, plots, a data-driven answer), loss_vs_context.{png,svg},
 * sensitivity_vs_distance.{png,svg}, models.csv, loss_vs_context.csv, sensitivity.csv and results.json.
 */
import { lineChartPng, lineChartSvg } from '@tinylab/metrics-logger'
import type { ChartSpec } from '@tinylab/metrics-logger'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { StudyModelName } from './probe'

export interface TrainingRecord {
  batches: number
  tokens: number
  seconds: number
  batchesPerEpoch: number
  lr: number
  finalLoss: number
  /** 1-minute load average when training started and ended (absent in checkpoints that did not record it). */
  loadAverage?: [number, number]
}

export interface ModelResult {
  name: StudyModelName
  parameters: number
  /** Parameters outside the input embedding and the decoder (the part that models context). */
  coreParameters: number
  fullWindow: number
  windowNote: string
  receptiveField: number | undefined
  /** undefined: loaded from a checkpoint that does not record its training. */
  training: TrainingRecord | undefined
  /** Training tokens/s timed in the same run for every model (alternating rounds); undefined when not timed. */
  timedTokensPerSecond: number | undefined
  testLoss: number
  /** Mean NLL of the same targets with the context cut to k tokens; `full` marks the model's full window. */
  lossVsContext: { k: number; full: boolean; loss: number }[]
  /** Mean ‖∂loss/∂embedding‖ at distance d (index), and the same divided by its maximum. */
  sensitivity: number[]
  sensitivityNormalised: number[]
}

export interface StudyResults {
  question: string
  quick: boolean
  backend: string
  budget: string
  /** How the same-run training speed was timed, e.g. '2 alternating rounds of 4 steps, best round'. */
  timing: string
  evaluation: { testTokens: number; targets: number; sensitivitySamples: number; window: number; contexts: number[] }
  models: ModelResult[]
}

export const QUESTION = 'How do a Transformer and a CNN differ in capturing context dependencies?'

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : String(v))
const int = (v: number) => Math.round(v).toLocaleString('en-US')

function secondsPerEpoch(t: TrainingRecord): number {
  return (t.seconds * t.batchesPerEpoch) / t.batches
}

/** Share of the (unnormalised) sensitivity mass at distances ≥ from. */
function massBeyond(m: ModelResult, from: number): number {
  const total = m.sensitivity.reduce((a, b) => a + b, 0)
  const beyond = m.sensitivity.slice(from).reduce((a, b) => a + b, 0)
  return total > 0 ? beyond / total : 0
}

/** The smallest D with 90% of the sensitivity mass at distances ≤ D. */
function reach90(m: ModelResult): number {
  const total = m.sensitivity.reduce((a, b) => a + b, 0)
  let acc = 0
  for (let d = 0; d < m.sensitivity.length; d++) {
    acc += m.sensitivity[d] as number
    if (acc >= 0.9 * total) return d
  }
  return m.sensitivity.length - 1
}

function lossAt(m: ModelResult, k: number): number | undefined {
  return m.lossVsContext.find((r) => !r.full && r.k === k)?.loss
}

/** The short answer, computed from the numbers (each sentence states what was measured). */
export function answer(r: StudyResults): string[] {
  const by = (n: StudyModelName) => r.models.find((m) => m.name === n)
  const g = by('GCNN')
  const t = by('Transformer')
  const l = by('LSTM')
  const lines: string[] = []
  if (r.quick) lines.push('*Quick mode: tiny models and a few batches of training; the numbers show the mechanism, not trained quality.*')
  lines.push(`Test perplexity after the same budget: ${r.models.map((m) => `${m.name} ${fmt(Math.exp(m.testLoss), 1)}`).join(', ')}.`)
  if (g !== undefined && g.receptiveField !== undefined) {
    const rf = g.receptiveField
    const ks = r.evaluation.contexts
    const kIn = ks.find((k) => k >= rf) // the shortest context that fills the GCNN's window
    const kMax = ks[ks.length - 1] as number
    const gIn = kIn === undefined ? undefined : lossAt(g, kIn)
    const gMax = lossAt(g, kMax)
    if (kIn !== undefined && gIn !== undefined && gMax !== undefined && kMax > kIn) {
      lines.push(
        `The GCNN sees a fixed window of ${rf} tokens: giving it ${kMax} tokens of context instead of ${kIn} changes its loss by ${fmt(gMax - gIn, 4)} nats, ` +
          (massBeyond(g, rf) === 0
            ? `and its gradient with respect to every input ${rf} or more tokens back is exactly 0.`
            : `and ${fmt(massBeyond(g, rf) * 100, 2)}% of its gradient mass lies ${rf} or more tokens back.`),
      )
      for (const m of [t, l]) {
        if (m === undefined) continue
        const a = lossAt(m, kIn)
        const b = lossAt(m, kMax)
        if (a === undefined || b === undefined) continue
        lines.push(
          `The ${m.name} over the same stretch (${kIn} → ${kMax} tokens) ${b < a ? 'gains' : 'loses'} ${fmt(Math.abs(a - b), 4)} nats, and ` +
            `${fmt(massBeyond(m, rf) * 100, 1)}% of its gradient mass lies beyond the GCNN's window.`,
        )
      }
    }
    lines.push(`90% of each model's gradient mass lies within distance: ${r.models.map((m) => `${m.name} ${reach90(m)}`).join(', ')} tokens (of ${r.evaluation.window}).`)
    if (t !== undefined) {
      const tBeyond = massBeyond(t, rf)
      lines.push(
        tBeyond > 0
          ? `So, measured: the convolution's context is a hard window set by depth × kernel width, while attention reaches every position of its window ` +
              `(non-zero sensitivity at all ${r.evaluation.window} distances); ${reach90(t) < rf ? 'yet most of the Transformer\'s sensitivity is still local, inside the GCNN\'s window' : 'and a real part of the Transformer\'s sensitivity lies beyond the GCNN\'s window'}.`
          : 'In this run the Transformer showed no sensitivity beyond the GCNN\'s window, so the measurement does not separate the two.',
      )
    }
  }
  return lines
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)]
}

function markdown(r: StudyResults): string {
  const ks = r.evaluation.contexts
  const g = r.models.find((m) => m.receptiveField !== undefined)
  const distances = [0, 1, 2, 4, 8, 16, 32, 64, 128].filter((d) => d < r.evaluation.window)
  if (g?.receptiveField !== undefined && !distances.includes(g.receptiveField)) {
    distances.push(g.receptiveField - 1, g.receptiveField)
    distances.sort((a, b) => a - b)
  }
  const uniqueDistances = [...new Set(distances)].filter((d) => d >= 0 && d < r.evaluation.window)
  const lines = [
    '# Transformer vs CNN on context: WikiText-2 context study',
    '',
    `Question (the reference report's): *${QUESTION}*`,
    '',
    '## Answer, from the measurements below',
    '',
    ...answer(r).map((l) => `- ${l}`),
    '',
    '## Setup',
    '',
    `- Budget, the same for every model: ${r.budget}.`,
    `- Backend: ${r.backend}. Measured on ${int(r.evaluation.testTokens)} tokens of the test split; ${int(r.evaluation.targets)} target tokens for the context table; ` +
      `${int(r.evaluation.sensitivitySamples)} sequences of ${r.evaluation.window} tokens for the sensitivity.`,
    ...(g?.receptiveField !== undefined ? [`- **GCNN receptive field: ${g.receptiveField} tokens** (${g.windowNote}); a prediction cannot depend on anything earlier.`] : []),
    '',
    '## Models',
    '',
    ...table(
      ['model', 'parameters', 'non-embedding parameters', 'full window (tokens)', 'train batches', 'train time (s)', 'time per epoch (s)', 'load during training', 'tokens/s (training)', 'tokens/s (same-run timing)', 'test loss', 'test ppl'],
      r.models.map((m) => [
        m.name,
        int(m.parameters),
        int(m.coreParameters),
        `${m.fullWindow}: ${m.windowNote}`,
        m.training ? int(m.training.batches) : 'n/a',
        m.training ? fmt(m.training.seconds, 1) : 'n/a',
        m.training ? fmt(secondsPerEpoch(m.training), 0) + (m.training.batches < m.training.batchesPerEpoch ? ' (est.)' : '') : 'n/a',
        m.training?.loadAverage ? `${fmt(m.training.loadAverage[0], 2)} → ${fmt(m.training.loadAverage[1], 2)}` : 'not recorded',
        m.training ? int(m.training.tokens / m.training.seconds) : 'n/a',
        m.timedTokensPerSecond !== undefined ? int(m.timedTokensPerSecond) : 'n/a',
        fmt(m.testLoss),
        fmt(Math.exp(m.testLoss), 2),
      ]),
    ),
    '',
    'Time per epoch marked (est.) is the measured time scaled to a full epoch. Tokens/s (training): training tokens over training step time, on this device, ' +
      'under whatever load the machine had then (1-minute load average at the start and end of training). ' +
      `Tokens/s (same-run timing): every model timed in this run under the same conditions, ${r.timing}; use this column to compare the models' speed.`,
    '',
    '## Loss vs context length',
    '',
    'Mean NLL (nats) of the same target tokens, each predicted from only the k tokens before it (the LSTM from a zero state); "full" is the model\'s full window.',
    '',
    ...table(
      ['model', ...ks.map((k) => `k=${k}`), 'full window'],
      r.models.map((m) => {
        const full = m.lossVsContext.find((x) => x.full)
        return [m.name, ...ks.map((k) => fmt(lossAt(m, k) ?? Number.NaN)), full ? `${fmt(full.loss)} (k=${full.k})` : 'n/a']
      }),
    ),
    '',
    '![loss vs context](loss_vs_context.svg)',
    '',
    '## Sensitivity vs distance',
    '',
    "Mean ‖∂loss_t/∂e_{t−d}‖ (the gradient of the loss at the last position with respect to the input embedding d tokens back, d = 0 the last input), divided by each model's maximum.",
    '',
    ...table(
      ['model', ...uniqueDistances.map((d) => `d=${d}`), '90% of mass within d ≤'],
      r.models.map((m) => [m.name, ...uniqueDistances.map((d) => fmt(m.sensitivityNormalised[d] ?? Number.NaN, 4)), String(reach90(m))]),
    ),
    '',
    '![sensitivity vs distance](sensitivity_vs_distance.svg)',
    '',
    'Raw numbers: `models.csv`, `loss_vs_context.csv`, `sensitivity.csv`, `results.json`.',
    '',
  ]
  return lines.join('\n')
}

function charts(r: StudyResults): { name: string; spec: ChartSpec }[] {
  const g = r.models.find((m) => m.receptiveField !== undefined)
  const losses = r.models.flatMap((m) => m.lossVsContext.map((x) => x.loss)).filter(Number.isFinite)
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)]
  const rfLoss = g?.receptiveField !== undefined ? [{ name: `GCNN rf = ${g.receptiveField}`, color: '#7f7f7f', points: [{ x: Math.log2(g.receptiveField), y: lo }, { x: Math.log2(g.receptiveField), y: hi }] }] : []
  const rfSens = g?.receptiveField !== undefined ? [{ name: `GCNN rf = ${g.receptiveField}`, color: '#7f7f7f', points: [{ x: g.receptiveField - 0.5, y: 0 }, { x: g.receptiveField - 0.5, y: 1 }] }] : []
  return [
    {
      name: 'loss_vs_context',
      spec: {
        title: 'Test loss vs context length (same targets)',
        xLabel: 'log2(context tokens k)',
        yLabel: 'mean NLL (nats)',
        series: [
          ...r.models.map((m) => {
            const byK = new Map(m.lossVsContext.map((x) => [x.k, x.loss]))
            return { name: m.name, points: [...byK].sort((a, b) => a[0] - b[0]).map(([k, loss]) => ({ x: Math.log2(k), y: loss })) }
          }),
          ...rfLoss,
        ],
      },
    },
    {
      name: 'sensitivity_vs_distance',
      spec: {
        title: 'Sensitivity of the loss to the input embedding d tokens back',
        xLabel: 'distance d (tokens)',
        yLabel: 'mean gradient norm / max',
        series: [...r.models.map((m) => ({ name: m.name, points: m.sensitivityNormalised.map((y, d) => ({ x: d, y })) })), ...rfSens],
      },
    },
  ]
}

function csv(header: string[], rows: (string | number)[][]): string {
  return [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n'
}

/** Writes every output file; returns their paths. */
export function writeReport(out: string, r: StudyResults): string[] {
  const files: [string, string | Buffer][] = [
    ['report.md', markdown(r)],
    ['results.json', JSON.stringify(r, null, 2) + '\n'],
    [
      'models.csv',
      csv(
        ['model', 'parameters', 'non_embedding_parameters', 'full_window', 'receptive_field', 'train_batches', 'train_tokens', 'train_seconds', 'seconds_per_epoch', 'tokens_per_second', 'timed_tokens_per_second', 'test_loss', 'test_perplexity'],
        r.models.map((m) => [
          m.name, m.parameters, m.coreParameters, m.fullWindow, m.receptiveField ?? '',
          m.training?.batches ?? '', m.training?.tokens ?? '', m.training?.seconds ?? '', m.training ? secondsPerEpoch(m.training) : '', m.training ? m.training.tokens / m.training.seconds : '', m.timedTokensPerSecond ?? '',
          m.testLoss, Math.exp(m.testLoss),
        ]),
      ),
    ],
    ['loss_vs_context.csv', csv(['model', 'k', 'full_window', 'loss', 'perplexity'], r.models.flatMap((m) => m.lossVsContext.map((x) => [m.name, x.k, x.full ? 1 : 0, x.loss, Math.exp(x.loss)])))],
    ['sensitivity.csv', csv(['model', 'distance', 'mean_grad_norm', 'normalised'], r.models.flatMap((m) => m.sensitivity.map((v, d) => [m.name, d, v, m.sensitivityNormalised[d] as number])))],
  ]
  for (const { name, spec } of charts(r)) {
    files.push([`${name}.svg`, lineChartSvg(spec)], [`${name}.png`, lineChartPng(spec)])
  }
  return files.map(([name, content]) => {
    const file = path.join(out, name)
    writeFileSync(file, content)
    return file
  })
}
