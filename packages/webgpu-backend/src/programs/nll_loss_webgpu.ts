/**
 * WGSL of TinylabNllLoss / TinylabNllLossGrad (kernels/NllLoss*.ts) over log-probabilities [rows, classes] and int32
 * targets [rows]. Elements are addressed in integers (tfjs 4.22's gather addresses in float32, exact only below 2^24).
 */
import { linearDispatch, treeSum } from './_program'
import type { TinylabProgram } from './_program'

const THREADS = 256

/**
 * result = −(1/rows)·Σ_r logProbs[r, targets[r]] in one workgroup: each invocation strides over the rows, then a tree.
 * A target outside [0, classes) adds NaN (a uniform, so the compiler cannot fold it away).
 */
export class NllLossProgram implements TinylabProgram {
  readonly outputShape: number[] = []
  readonly dispatchLayout = { x: [] as number[] }
  readonly dispatch: [number, number, number] = [1, 1, 1]
  readonly workgroupSize: [number, number, number] = [THREADS, 1, 1]
  readonly variableNames = ['logProbs', 'targets']
  readonly extraOutputNames: readonly string[] = []
  readonly uniforms = 'rows : i32, classes : i32,'
  shaderKey = 'tinylabNllLoss'

  getUserCode(): string {
    return `
    var<workgroup> partial: array<f32, ${THREADS}>;
    fn main(index: i32) {
      let t = localId.x;
      let rows = u32(uniforms.rows);
      let classes = u32(uniforms.classes);
      var part = 0.0;
      for (var r = t; r < rows; r = r + ${THREADS}u) {
        let label = targets[r];
        if (label >= 0 && u32(label) < classes) {
          part = part + logProbs[r * classes + u32(label)];
        } else {
          part = part + uniforms.NAN;
        }
      }
      partial[t] = part;
      ${treeSum('partial', THREADS, 't', '0u', 1)}
      if (t == 0u) { result[0] = -partial[0] / f32(uniforms.rows); }
    }`
  }
}

/** result[r, c] = −dy/rows where c = targets[r], else 0: one invocation per element. */
export class NllLossGradProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout = { x: [0, 1] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [THREADS, 1, 1]
  readonly size = true
  readonly variableNames = ['dy', 'targets']
  readonly extraOutputNames: readonly string[] = []
  readonly uniforms = 'rows : i32, classes : i32,'
  shaderKey = 'tinylabNllLossGrad'

  constructor(rows: number, classes: number) {
    this.outputShape = [rows, classes]
    this.dispatch = linearDispatch(Math.ceil((rows * classes) / THREADS))
  }

  getUserCode(): string {
    return `
    fn main(index: i32) {
      if (index < uniforms.size) {
        let row = index / uniforms.classes;
        let col = index - row * uniforms.classes;
        result[index] = select(0.0, -dy[0] / f32(uniforms.rows), col == targets[row]);
      }
    }`
  }
}
