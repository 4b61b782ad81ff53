/**
 * WGSL of TinylabSumSquares (kernels/SumSquares.ts), the squared L2 norms of many tensors (clip_grad_norm_):
 * PartialSumSquaresProgram gives each of up to (storage-buffer limit − 1) inputs PARTS workgroups that each sum the
 * squares of a strided share of it, into rows of one [count, PARTS] tensor (several dispatches write disjoint rows
 * of the same output); SumPartsProgram adds each row in order.
 */
import type { TinylabProgram } from './_program'

export const PARTS = 64
const THREADS = 256

export class PartialSumSquaresProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [THREADS, 1, 1]
  readonly variableNames: string[]
  readonly extraOutputNames: readonly string[] = []
  readonly uniforms: string
  shaderKey: string
  private readonly inputs: number

  /** `count`: rows of the whole [count, PARTS] output; this dispatch writes rows firstRow … firstRow + inputs − 1. */
  constructor(count: number, inputs: number) {
    this.inputs = inputs
    this.outputShape = [count, PARTS]
    this.dispatchLayout = { x: [0, 1] }
    this.dispatch = [PARTS, inputs, 1]
    this.variableNames = Array.from({ length: inputs }, (_, i) => `x${i}`)
    this.uniforms = `firstRow : i32, ${this.variableNames.map((_, i) => `size${i} : i32,`).join(' ')}`
    this.shaderKey = `tinylabPartialSumSquares${inputs}`
  }

  getUserCode(): string {
    const sums = this.variableNames.map(
      (name, i) => `if (t == ${i}) {
          for (var j = start; j < uniforms.size${i}; j = j + stride) { let v = ${name}[j]; s = s + v * v; }
        }`,
    )
    return `
    var<workgroup> partial: array<f32, ${THREADS}>;
    fn main(index: i32) {
      let part = i32(workgroupId.x);
      let t = i32(workgroupId.y);
      let lid = localId.x;
      let start = part * ${THREADS} + i32(lid);
      let stride = ${PARTS * THREADS};
      var s = 0.0;
      ${sums.join(' else ')}
      partial[lid] = s;
      workgroupBarrier();
      for (var half = ${THREADS / 2}u; half > 0u; half = half >> 1u) {
        if (lid < half) { partial[lid] = partial[lid] + partial[lid + half]; }
        workgroupBarrier();
      }
      if (lid == 0u && t < ${this.inputs}) { result[(uniforms.firstRow + t) * ${PARTS} + part] = partial[0]; }
    }`
  }
}

/** result[r] = Σ_p parts[r, p], p in order. */
export class SumPartsProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout = { x: [0] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [64, 1, 1]
  readonly size = true
  readonly variableNames = ['parts']
  readonly extraOutputNames: readonly string[] = []
  shaderKey = 'tinylabSumParts'

  constructor(count: number) {
    this.outputShape = [count]
    this.dispatch = [Math.ceil(count / 64), 1, 1]
  }

  getUserCode(): string {
    return `
    fn main(index: i32) {
      if (index < uniforms.size) {
        var s = 0.0;
        for (var p = 0; p < ${PARTS}; p = p + 1) { s = s + parts[index * ${PARTS} + p]; }
        result[index] = s;
      }
    }`
  }
}
