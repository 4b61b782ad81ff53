/**
 * WGSL of TinylabBatchNormTraining / TinylabBatchNormTrainingGrad (kernels/BatchNormTraining*.ts run them) over x
 * viewed as [rows, C] (C the last axis). Per-channel sums use a workgroup of 16 channels × 16 row lanes; each lane
 * sums its rows in order, then a tree over the lanes. The variance is the mean of squared differences from the mean
 * (two passes over x), as the composed ops compute it, not E[x²] − E[x]², which cancels badly.
 */
import { extraOutputDeclarations, slotNames, treeSum } from './_program'
import type { TinylabProgram } from './_program'

/** Channels per workgroup of the per-channel reductions, and lanes (rows summed in parallel) per channel. */
export const CHANNELS = 16
export const LANES = 16

/**
 * WGSL: sums `term` (an f32 expression of `i`, the flat index of x[r, c]) over `rows` rows into `total`, lane by lane
 * in row order then a tree over the lanes. Needs `c` (channel), `ch` and `lane` (local ids), `uniforms.channels` and
 * `var<workgroup> partial: array<f32, CHANNELS·LANES>`. The compiled step's fused statistics use it too, so they sum
 * in exactly this order.
 */
export function channelSumWgsl(total: string, term: string, rows: string): string {
  return `
    {
      var acc = 0.0;
      if (c < uniforms.channels) {
        for (var r = i32(lane); r < ${rows}; r = r + ${LANES}) {
          let i = r * uniforms.channels + c;
          acc = acc + ${term};
        }
      }
      partial[lane * ${CHANNELS}u + ch] = acc;
      ${treeSum('partial', LANES, 'lane', 'ch', CHANNELS)}
      ${total} = partial[ch];
      workgroupBarrier();
    }`
}

/** Per-channel tiles of a reduction over rows: a dispatch of ⌈C/16⌉ workgroups (layer norm's dgamma/dbeta use it too). */
export abstract class ChannelReduceProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout = { x: [0] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [CHANNELS, LANES, 1]
  readonly uniforms = 'rows : i32, channels : i32, epsilon : f32,'
  abstract readonly variableNames: string[]
  abstract readonly extraOutputNames: readonly string[]
  abstract shaderKey: string

  constructor(channels: number) {
    this.outputShape = [channels]
    this.dispatch = [Math.ceil(channels / CHANNELS), 1, 1]
  }

  abstract getUserCode(): string

  /** WGSL: sums `term` (an f32 expression of `i`, the flat index of x[r, c]) over the rows into `total`. */
  protected channelSum(total: string, term: string): string {
    return channelSumWgsl(total, term, 'uniforms.rows')
  }

  protected header(inputCount: number): string {
    return `
    ${extraOutputDeclarations(inputCount, this.extraOutputNames)}
    var<workgroup> partial: array<f32, ${CHANNELS * LANES}>;
    fn main(index: i32) {
      let ch = localId.x;
      let lane = localId.y;
      let c = i32(workgroupId.x) * ${CHANNELS} + i32(ch);
      let n = f32(uniforms.rows);`
  }
}

/** result = mean [C]; extra outputs variance (biased) and rstd = 1/√(variance + epsilon). Inputs: x. */
export class BatchNormStatsProgram extends ChannelReduceProgram {
  readonly extraOutputNames = ['variance', 'rstd'] as const
  readonly variableNames = slotNames(['x'], this.extraOutputNames)
  shaderKey = 'tinylabBatchNormStats'

  getUserCode(): string {
    return `${this.header(1)}
      var sum = 0.0;
      ${this.channelSum('sum', 'x[i]')}
      let mean = sum / n;
      var squares = 0.0;
      ${this.channelSum('squares', '(x[i] - mean) * (x[i] - mean)')}
      if (lane == 0u && c < uniforms.channels) {
        let v = squares / n;
        result[c] = mean;
        variance[c] = v;
        rstd[c] = inverseSqrt(v + uniforms.epsilon);
      }
    }`
  }
}

/** result = dgamma = rstd·Σ dy·(x − mean); extra output dbeta = Σ dy. Inputs: dy, x, mean, rstd. */
export class BatchNormGradReduceProgram extends ChannelReduceProgram {
  readonly extraOutputNames = ['dbeta'] as const
  readonly variableNames = slotNames(['dy', 'x', 'mean', 'rstd'], this.extraOutputNames)
  shaderKey = 'tinylabBatchNormGradReduce'

  getUserCode(): string {
    return `${this.header(4)}
      let mu = select(0.0, mean[min(c, uniforms.channels - 1)], c < uniforms.channels);
      var sumDy = 0.0;
      ${this.channelSum('sumDy', 'dy[i]')}
      var sumDyCentred = 0.0;
      ${this.channelSum('sumDyCentred', 'dy[i] * (x[i] - mu)')}
      if (lane == 0u && c < uniforms.channels) {
        result[c] = sumDyCentred * rstd[c];
        dbeta[c] = sumDy;
      }
    }`
  }
}

/** One thread per element of x, channel = index mod C. */
abstract class ChannelElementwiseProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [256, 1, 1]
  readonly size = true
  readonly uniforms = 'channels : i32, rows : i32,'
  readonly extraOutputNames: readonly string[] = []
  abstract readonly variableNames: string[]
  abstract shaderKey: string

  constructor(shape: number[]) {
    this.outputShape = shape
    this.dispatchLayout = { x: shape.map((_, i) => i) }
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 256), 1, 1]
  }

  abstract getUserCode(): string
}

/** result = y = (x − mean)·(gamma·rstd) + beta. Inputs: x, mean, rstd, gamma, beta. */
export class BatchNormApplyProgram extends ChannelElementwiseProgram {
  readonly variableNames = ['x', 'mean', 'rstd', 'gamma', 'beta']
  shaderKey = 'tinylabBatchNormApply'

  getUserCode(): string {
    return `
    fn main(index: i32) {
      if (index < uniforms.size) {
        let c = index % uniforms.channels;
        result[index] = (x[index] - mean[c]) * (gamma[c] * rstd[c]) + beta[c];
      }
    }`
  }
}

/**
 * result = dx = k·(dy − dbeta/m) − k·rstd·(x − mean)·dgamma/m, k = gamma·rstd, m = rows (aten's
 * native_batch_norm_backward, with Σ dy·(x − mean) = dgamma/rstd). Inputs: dy, x, mean, rstd, gamma, dgamma, dbeta.
 */
export class BatchNormGradApplyProgram extends ChannelElementwiseProgram {
  readonly variableNames = ['dy', 'x', 'mean', 'rstd', 'gamma', 'dgamma', 'dbeta']
  shaderKey = 'tinylabBatchNormGradApply'

  getUserCode(): string {
    return `
    fn main(index: i32) {
      if (index < uniforms.size) {
        let c = index % uniforms.channels;
        let m = f32(uniforms.rows);
        let k = gamma[c] * rstd[c];
        result[index] = k * (dy[index] - dbeta[c] / m) - k * rstd[c] * (x[index] - mean[c]) * (dgamma[c] / m);
      }
    }`
  }
}
