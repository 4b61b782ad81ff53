/**
 * What TinyLab's per-row programs share (log-softmax, softmax, layer norm): one workgroup of `threads` per row of the
 * [rows, cols] view (cols the last axis), each invocation striding over the row, then a tree over the workgroup.
 */
import { extraOutputDeclarations, LINEAR_WORKGROUP, linearDispatch, treeSum } from './_program'
import type { TinylabProgram } from './_program'

export abstract class RowProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number]
  readonly extraOutputNames: readonly string[] = []
  /** Must begin with `rows : i32, cols : i32,`. */
  abstract readonly uniforms: string
  abstract readonly variableNames: string[]
  abstract shaderKey: string

  constructor(shape: number[], rows: number, protected readonly threads: number) {
    this.outputShape = shape
    this.dispatchLayout = { x: shape.map((_, i) => i) }
    this.dispatch = linearDispatch(rows)
    this.workgroupSize = [threads, 1, 1]
  }

  abstract getUserCode(): string

  /**
   * WGSL up to the body of `main`: the extra outputs' declarations (after `inputCount` inputs), `partial` (one f32 per
   * invocation), `row`, `cols`, `t` (this invocation) and `base` (the row's first index).
   */
  protected header(inputCount = 0): string {
    return `
    ${extraOutputDeclarations(inputCount, this.extraOutputNames)}
    var<workgroup> partial: array<f32, ${this.threads}>;
    fn main(index: i32) {
      let row = ${LINEAR_WORKGROUP};
      // Barriers need uniform control flow, and tfjs keeps workgroupId in a private variable (not provably uniform):
      // a workgroup past the last row loops over no columns instead of returning.
      let cols = select(0, uniforms.cols, row < uniforms.rows);
      let t = localId.x;
      let base = row * uniforms.cols;`
  }

  /** WGSL: the row's sum of `term` (an f32 expression of the column `j`) into a new `let total`: strided, then a tree. */
  protected rowSum(total: string, term: string): string {
    return `
      var ${total}Part = 0.0;
      for (var j = i32(t); j < cols; j = j + ${this.threads}) { ${total}Part = ${total}Part + ${term}; }
      partial[t] = ${total}Part;
      ${treeSum('partial', this.threads, 't', '0u', 1)}
      let ${total} = partial[0];
      workgroupBarrier();`
  }

  /** WGSL: the row's maximum of `term` into a new `let total`. */
  protected rowMax(total: string, term: string): string {
    return `
      var ${total}Part = -uniforms.INFINITY;
      for (var j = i32(t); j < cols; j = j + ${this.threads}) { ${total}Part = max(${total}Part, ${term}); }
      partial[t] = ${total}Part;
      workgroupBarrier();
      for (var half = ${this.threads / 2}u; half > 0u; half = half >> 1u) {
        if (t < half) { partial[t] = max(partial[t], partial[t + half]); }
        workgroupBarrier();
      }
      let ${total} = partial[0];
      workgroupBarrier();`
  }
}
