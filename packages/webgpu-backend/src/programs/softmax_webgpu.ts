/**
 * WGSL of TinylabMaskedSoftmax / TinylabSoftmaxGrad (kernels/MaskedSoftmax.ts, kernels/SoftmaxGrad.ts): one workgroup
 * per row of the [rows, cols] view, each invocation striding over the row, then a tree over the workgroup. Attention's
 * rows are short (the sequence length), so the workgroup is 64 wide.
 */
import { LINEAR_WORKGROUP, linearDispatch, treeSum } from './_program'
import type { TinylabProgram } from './_program'

const THREADS = 64

abstract class SoftmaxRowProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [THREADS, 1, 1]
  /** maskRows: rows of the [maskRows, cols] mask, repeated over the logits' rows. */
  readonly uniforms = 'rows : i32, cols : i32, maskRows : i32,'
  readonly extraOutputNames: readonly string[] = []
  abstract readonly variableNames: string[]
  abstract shaderKey: string

  constructor(shape: number[], rows: number) {
    this.outputShape = shape
    this.dispatchLayout = { x: shape.map((_, i) => i) }
    this.dispatch = linearDispatch(rows)
  }

  abstract getUserCode(): string

  protected header(): string {
    return `
    var<workgroup> partial: array<f32, ${THREADS}>;
    fn main(index: i32) {
      let row = ${LINEAR_WORKGROUP};
      // Barriers need uniform control flow: a workgroup past the last row loops over no columns instead of returning.
      let cols = select(0, uniforms.cols, row < uniforms.rows);
      let t = localId.x;
      let base = row * uniforms.cols;`
  }
}

/** result = softmax(logits + mask) per row (max subtracted first, as tfjs's softmax). Inputs: logits, mask. */
export class MaskedSoftmaxProgram extends SoftmaxRowProgram {
  readonly variableNames = ['logits', 'mask']
  shaderKey = 'tinylabMaskedSoftmax'

  getUserCode(): string {
    return `${this.header()}
      let maskBase = (row % max(uniforms.maskRows, 1)) * uniforms.cols;
      var m = -uniforms.INFINITY;
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { m = max(m, logits[base + j] + mask[maskBase + j]); }
      partial[t] = m;
      workgroupBarrier();
      for (var half = ${THREADS / 2}u; half > 0u; half = half >> 1u) {
        if (t < half) { partial[t] = max(partial[t], partial[t + half]); }
        workgroupBarrier();
      }
      let rowMax = partial[0];
      workgroupBarrier();
      var s = 0.0;
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { s = s + exp((logits[base + j] + mask[maskBase + j]) - rowMax); }
      partial[t] = s;
      ${treeSum('partial', THREADS, 't', '0u', 1)}
      let total = partial[0];
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
      var s = 0.0;
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { s = s + dy[base + j] * y[base + j]; }
      partial[t] = s;
      ${treeSum('partial', THREADS, 't', '0u', 1)}
      let total = partial[0];
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = y[base + j] * (dy[base + j] - total); }
    }`
  }
}
