/**
 * WGSL of TinylabLogSoftmax / TinylabLogSoftmaxGrad (kernels/LogSoftmax*.ts): one workgroup of 256 per row of the
 * [rows, cols] view (cols the last axis); each invocation strides over the row, then a tree over the workgroup.
 */
import { RowProgram } from './_row_program'

const THREADS = 256

abstract class LogSoftmaxRowProgram extends RowProgram {
  readonly uniforms = 'rows : i32, cols : i32,'

  constructor(shape: number[], rows: number) {
    super(shape, rows, THREADS)
  }
}

/** result = x − max − log Σ exp(x − max), per row. Inputs: logits. */
export class LogSoftmaxProgram extends LogSoftmaxRowProgram {
  readonly variableNames = ['logits']
  shaderKey = 'tinylabLogSoftmax'

  getUserCode(): string {
    return `${this.header()}
      ${this.rowMax('rowMax', 'logits[base + j]')}
      ${this.rowSum('sum', 'exp(logits[base + j] - rowMax)')}
      let logSum = log(sum);
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = (logits[base + j] - rowMax) - logSum; }
    }`
  }
}

/** result = dy − exp(y)·Σ dy, per row. Inputs: dy, y. */
export class LogSoftmaxGradProgram extends LogSoftmaxRowProgram {
  readonly variableNames = ['dy', 'y']
  shaderKey = 'tinylabLogSoftmaxGrad'

  getUserCode(): string {
    return `${this.header()}
      ${this.rowSum('total', 'dy[base + j]')}
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = dy[base + j] - exp(y[base + j]) * total; }
    }`
  }
}
