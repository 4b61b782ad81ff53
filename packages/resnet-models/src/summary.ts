/**
 * torchsummary's table (sksq96/pytorch-summary, torchsummary 1.5.1 `summary_string`), from the model's own forward:
 * every layer event becomes one row, exactly where torch's forward hooks would fire.
 */
import * as tf from '@tensorflow/tfjs-core'
import type { ForwardOptions, LayerType } from './resnet'
import { formatFixed2, formatThousands } from './_format'

/** Anything with a hook-reporting forward, e.g. `ResNet`. */
export interface Summarizable {
  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor
}

export interface SummaryRow {
  /** torchsummary's key: class name and 1-based call index, e.g. 'Conv2d-1'. */
  name: string
  type: LayerType
  /** PyTorch NCHW order with batch -1, e.g. [-1, 64, 32, 32] (or [-1, 200] after the head). */
  outputShape: number[]
  params: number
  trainable: boolean
}

export interface ModelSummary {
  rows: SummaryRow[]
  totalParams: number
  trainableParams: number
  nonTrainableParams: number
  /** Sizes as torchsummary estimates them: float32 (4 bytes), one sample, in MiB. */
  inputSizeMB: number
  /** Every row's output, doubled for its gradient. */
  forwardBackwardSizeMB: number
  paramsSizeMB: number
  totalSizeMB: number
}

/** Our NHWC shape in PyTorch's NCHW order with torchsummary's -1 batch. */
function torchShape(shape: readonly number[]): number[] {
  if (shape.length === 4) return [-1, shape[3] ?? 0, shape[1] ?? 0, shape[2] ?? 0]
  return [-1, ...shape.slice(1)]
}

/**
 * Runs one eval-mode forward on a zero image of `inputSize` = [C, H, W] (PyTorch order, as torchsummary takes it) and
 * returns torchsummary's rows and totals. The model's state is not changed (torchsummary itself runs a train-mode
 * batch of 2, which moves BatchNorm running stats; shapes and counts are the same).
 *
 * ```ts
 * const s = summary(resnet18({ numClasses: 200 }), [3, 64, 64])
 * s.rows[0] // { name: 'Conv2d-1', type: 'Conv2d', outputShape: [-1, 64, 32, 32], params: 9408, trainable: true }
 * s.totalParams // 11279112
 * ```
 */
export function summary(model: Summarizable, inputSize: readonly [number, number, number]): ModelSummary {
  const [channels, height, width] = inputSize
  if (!inputSize.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`summary: inputSize must be [C, H, W] positive integers, got [${inputSize.join(', ')}]`)
  const rows: SummaryRow[] = []
  tf.tidy(() => {
    model.forward(tf.zeros([1, height, width, channels]), {
      training: false,
      onLayer: (event) => {
        rows.push({
          name: `${event.type}-${rows.length + 1}`,
          type: event.type,
          outputShape: torchShape(event.output.shape),
          params: event.params,
          trainable: event.trainable,
        })
      },
    })
  })
  const MB = 1024 ** 2
  const totalParams = rows.reduce((s, r) => s + r.params, 0)
  const trainableParams = rows.reduce((s, r) => s + (r.trainable ? r.params : 0), 0)
  // torchsummary multiplies shapes that contain the -1 batch and takes abs() at the end: one sample per row
  const totalOutput = rows.reduce((s, r) => s + Math.abs(r.outputShape.reduce((p, d) => p * d, 1)), 0)
  const inputSizeMB = (channels * height * width * 4) / MB
  const forwardBackwardSizeMB = (2 * totalOutput * 4) / MB
  const paramsSizeMB = (totalParams * 4) / MB
  return {
    rows,
    totalParams,
    trainableParams,
    nonTrainableParams: totalParams - trainableParams,
    inputSizeMB,
    forwardBackwardSizeMB,
    paramsSizeMB,
    totalSizeMB: paramsSizeMB + forwardBackwardSizeMB + inputSizeMB,
  }
}

/**
 * torchsummary's printed table, byte for byte (columns `{:>20}  {:>25} {:>15}`, sizes `%0.2f`), ending with a newline.
 *
 * ```ts
 * process.stdout.write(formatSummary(summary(resnet18({ numClasses: 200 }), [3, 64, 64])))
 * ```
 */
export function formatSummary(s: ModelSummary): string {
  const rule = '-'.repeat(64)
  const doubleRule = '='.repeat(64)
  const line = (a: string, b: string, c: string): string => `${a.padStart(20)}  ${b.padStart(25)} ${c.padStart(15)}`
  const lines = [rule, line('Layer (type)', 'Output Shape', 'Param #'), doubleRule]
  for (const r of s.rows) lines.push(line(r.name, `[${r.outputShape.join(', ')}]`, formatThousands(r.params)))
  lines.push(
    doubleRule,
    `Total params: ${formatThousands(s.totalParams)}`,
    `Trainable params: ${formatThousands(s.trainableParams)}`,
    `Non-trainable params: ${formatThousands(s.nonTrainableParams)}`,
    rule,
    `Input size (MB): ${formatFixed2(s.inputSizeMB)}`,
    `Forward/backward pass size (MB): ${formatFixed2(s.forwardBackwardSizeMB)}`,
    `Params size (MB): ${formatFixed2(s.paramsSizeMB)}`,
    `Estimated Total Size (MB): ${formatFixed2(s.totalSizeMB)}`,
    rule,
  )
  return lines.join('\n') + '\n'
}
