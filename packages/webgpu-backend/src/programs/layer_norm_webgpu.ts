/**
 * WGSL of TinylabLayerNorm / TinylabLayerNormGrad (kernels/LayerNorm*.ts run them) over x viewed as [rows, C], C the
 * normalised last axis. Per-row work (the statistics, y, dx) takes one workgroup of 256 per row, each invocation
 * striding over the row, then a tree over the workgroup; dgamma and dbeta are per-channel sums over the rows, done as
 * batch norm's (ChannelReduceProgram). The variance is the mean of squared differences from the mean (two passes), as
 * nn.LayerNorm and the composed ops compute it.
 */
import { ChannelReduceProgram } from './batch_norm_training_webgpu'
import { slotNames } from './_program'
import { RowProgram } from './_row_program'

const THREADS = 256

abstract class LayerNormRowProgram extends RowProgram {
  readonly uniforms = 'rows : i32, cols : i32, epsilon : f32,'

  constructor(shape: number[], rows: number) {
    super(shape, rows, THREADS)
  }
}

/** result = y = (x − mean)·rstd·gamma + beta; extra outputs mean and rstd [rows]. Inputs: x, gamma, beta. */
export class LayerNormProgram extends LayerNormRowProgram {
  override readonly extraOutputNames = ['mean', 'rstd'] as const
  readonly variableNames = slotNames(['x', 'gamma', 'beta'], this.extraOutputNames)
  shaderKey = 'tinylabLayerNorm'

  getUserCode(): string {
    return `${this.header(3)}
      let n = f32(uniforms.cols);
      ${this.rowSum('sum', 'x[base + j]')}
      let mu = sum / n;
      ${this.rowSum('squares', '(x[base + j] - mu) * (x[base + j] - mu)')}
      let r = inverseSqrt(squares / n + uniforms.epsilon);
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = ((x[base + j] - mu) * r) * gamma[j] + beta[j]; }
      if (t == 0u && row < uniforms.rows) {
        mean[row] = mu;
        rstd[row] = r;
      }
    }`
  }
}

/**
 * result = dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·gamma, x̂ = (x − mean)·rstd, means over the row.
 * Inputs: dy, x, mean, rstd, gamma.
 */
export class LayerNormGradInputProgram extends LayerNormRowProgram {
  readonly variableNames = ['dy', 'x', 'mean', 'rstd', 'gamma']
  shaderKey = 'tinylabLayerNormGradInput'

  getUserCode(): string {
    return `${this.header(5)}
      let n = f32(uniforms.cols);
      let safeRow = min(row, uniforms.rows - 1);
      let mu = mean[safeRow];
      let r = rstd[safeRow];
      ${this.rowSum('sumG', 'dy[base + j] * gamma[j]')}
      ${this.rowSum('sumGX', '(dy[base + j] * gamma[j]) * ((x[base + j] - mu) * r)')}
      let meanG = sumG / n;
      let meanGX = sumGX / n;
      for (var j = i32(t); j < cols; j = j + ${THREADS}) {
        let xhat = (x[base + j] - mu) * r;
        result[base + j] = r * ((dy[base + j] * gamma[j] - meanG) - xhat * meanGX);
      }
    }`
  }
}

/** result = dgamma = Σ_rows dy·x̂; extra output dbeta = Σ_rows dy; a workgroup per 16 channels. Inputs: dy, x, mean, rstd. */
export class LayerNormGradParamsProgram extends ChannelReduceProgram {
  readonly extraOutputNames = ['dbeta'] as const
  readonly variableNames = slotNames(['dy', 'x', 'mean', 'rstd'], this.extraOutputNames)
  shaderKey = 'tinylabLayerNormGradParams'

  getUserCode(): string {
    return `${this.header(4)}
      var sumDy = 0.0;
      ${this.channelSum('sumDy', 'dy[i]')}
      var sumDyX = 0.0;
      ${this.channelSum('sumDyX', 'dy[i] * ((x[i] - mean[r]) * rstd[r])')}
      if (lane == 0u && c < uniforms.channels) {
        result[c] = sumDyX;
        dbeta[c] = sumDy;
      }
    }`
  }
}
