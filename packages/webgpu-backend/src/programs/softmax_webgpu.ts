/**
 * WGSL of TinylabMaskedSoftmax / TinylabSoftmaxGrad (kernels/MaskedSoftmax.ts, kernels/SoftmaxGrad.ts): one workgroup
 * per row of the [rows, cols] view, each invocation striding over the row, then a tree over the workgroup. Attention's
 * rows are short (the sequence length), so the workgroup is 64 wide.
 */
import { RowProgram } from './_row_program'

const THREADS = 64

abstract class SoftmaxRowProgram extends RowProgram {
  /** maskRows: rows of the [maskRows, cols] mask, repeated over the logits' rows. */
  readonly uniforms = 'rows : i32, cols : i32, maskRows : i32,'

  constructor(shape: number[], rows: number) {
    super(shape, rows, THREADS)
  }
}

/** result = softmax(logits + mask) per row (max subtracted first, as tfjs's softmax). Inputs: logits, mask. */
export class MaskedSoftmaxProgram extends SoftmaxRowProgram {
  readonly variableNames = ['logits', 'mask']
  shaderKey = 'tinylabMaskedSoftmax'

  getUserCode(): string {
    return `${this.header()}
      let maskBase = (row % max(uniforms.maskRows, 1)) * uniforms.cols;
      ${this.rowMax('rowMax', 'logits[base + j] + mask[maskBase + j]')}
      ${this.rowSum('total', 'exp((logits[base + j] + mask[maskBase + j]) - rowMax)')}
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = exp((logits[base + j] + mask[maskBase + j]) - rowMax) / total; }
    }`
  }
}

/** result = y·(dy − Σ dy·y) per row. Inputs: dy, y. */
export class SoftmaxGradProgram extends SoftmaxRowProgram {
  readonly variableNames = ['dy', 'y']
  shaderKey = 'tinylabSoftmaxGrad'

  getUserCode(): string {
    return `${this.header()}
      ${this.rowSum('total', 'dy[base + j] * y[base + j]')}
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = y[base + j] * (dy[base + j] - total); }
    }`
  }
}
