/**
 * WGSL of TinylabLogSoftmax / TinylabLogSoftmaxGrad (kernels/LogSoftmax*.ts): one workgroup of 256 per row of the
 * [rows, cols] view (cols the last axis); each invocation strides over the row, then a tree over the workgroup.
 */
import { LINEAR_WORKGROUP, linearDispatch, treeSum } from './_program'
import type { TinylabProgram } from './_program'

const THREADS = 256

abstract class RowProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [THREADS, 1, 1]
  readonly uniforms = 'rows : i32, cols : i32,'
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
      // Barriers need uniform control flow, and tfjs keeps workgroupId in a private variable (not provably uniform):
      // a workgroup past the last row loops over no columns instead of returning.
      let cols = select(0, uniforms.cols, row < uniforms.rows);
      let t = localId.x;
      let base = row * uniforms.cols;`
  }
}

/** result = x − max − log Σ exp(x − max), per row. Inputs: logits. */
export class LogSoftmaxProgram extends RowProgram {
  readonly variableNames = ['logits']
  shaderKey = 'tinylabLogSoftmax'

  getUserCode(): string {
    return `${this.header()}
      var m = -uniforms.INFINITY;
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { m = max(m, logits[base + j]); }
      partial[t] = m;
      workgroupBarrier();
      for (var half = ${THREADS / 2}u; half > 0u; half = half >> 1u) {
        if (t < half) { partial[t] = max(partial[t], partial[t + half]); }
        workgroupBarrier();
      }
      let rowMax = partial[0];
      workgroupBarrier();
      var s = 0.0;
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { s = s + exp(logits[base + j] - rowMax); }
      partial[t] = s;
      ${treeSum('partial', THREADS, 't', '0u', 1)}
      let logSum = log(partial[0]);
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = (logits[base + j] - rowMax) - logSum; }
    }`
  }
}

/** result = dy − exp(y)·Σ dy, per row. Inputs: dy, y. */
export class LogSoftmaxGradProgram extends RowProgram {
  readonly variableNames = ['dy', 'y']
  shaderKey = 'tinylabLogSoftmaxGrad'

  getUserCode(): string {
    return `${this.header()}
      var s = 0.0;
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { s = s + dy[base + j]; }
      partial[t] = s;
      ${treeSum('partial', THREADS, 't', '0u', 1)}
      let total = partial[0];
      for (var j = i32(t); j < cols; j = j + ${THREADS}) { result[base + j] = dy[base + j] - exp(y[base + j]) * total; }
    }`
  }
}
