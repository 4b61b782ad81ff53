/**
 * WGSL of Conv2DBackpropFilter (kernels/Conv2DBackpropFilter.ts) as an implicit GEMM with split-K:
 *   dW[k, co] = Σ_p X[p, k] · dY[p, co],  k = (kh, kw, ci),  p = (n, oh, ow),
 * X the im2col view of x (never materialised), dY = dy viewed as [N·OH·OW, Co]. Each workgroup (16×16 invocations,
 * 4×4 outputs each) owns a 64×64 tile of dW and one of `splits` slices of the long p range, staging 16 rows of X and
 * dY at a time in workgroup memory. With one split it writes dW; otherwise each split writes its partial sum and
 * SumSplitsProgram adds them in split order (deterministic, no atomics).
 *
 * tfjs 4.22's own kernel runs one invocation per weight that loops serially over all N·OH·OW positions (65,536 at the
 * ResNet stem at batch 64) and reads x with no reuse.
 */
import type { TinylabProgram } from './_program'

export const TILE = 64
const ROWS = 16

export interface FilterGradGeometry {
  batch: number
  inHeight: number
  inWidth: number
  inChannels: number
  outHeight: number
  outWidth: number
  outChannels: number
  filterHeight: number
  filterWidth: number
  strideHeight: number
  strideWidth: number
  padTop: number
  padLeft: number
}

/** How many slices of the p range: enough workgroups to fill a large GPU, at least 256 positions per slice. */
export function chooseSplits(g: FilterGradGeometry): number {
  const positions = g.batch * g.outHeight * g.outWidth
  const tiles = Math.ceil((g.filterHeight * g.filterWidth * g.inChannels) / TILE) * Math.ceil(g.outChannels / TILE)
  return Math.max(1, Math.min(Math.ceil(256 / tiles), Math.floor(positions / 256), 128))
}

export class ConvFilterGradProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [16, 16, 1]
  readonly variableNames = ['x', 'dy']
  readonly extraOutputNames: readonly string[] = []
  readonly uniforms =
    'inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, ' +
    'filterWidth : i32, strideHeight : i32, strideWidth : i32, padTop : i32, padLeft : i32, positions : i32, ' +
    'reduction : i32, tilesPerSplit : i32,'
  shaderKey = 'tinylabConvFilterGrad'

  /** `outputShape`: the filter shape with one split, else [splits, K·Co]. */
  constructor(g: FilterGradGeometry, splits: number, outputShape: number[]) {
    const k = g.filterHeight * g.filterWidth * g.inChannels
    this.outputShape = outputShape
    this.dispatchLayout = { x: outputShape.map((_, i) => i) }
    this.dispatch = [Math.ceil(g.outChannels / TILE), Math.ceil(k / TILE), splits]
  }

  /** Uniform values in the order of `uniforms`. */
  static uniformData(g: FilterGradGeometry, splits: number): { type: 'int32'; data: number[] }[] {
    const positions = g.batch * g.outHeight * g.outWidth
    const values = [
      g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.outChannels, g.filterWidth, g.strideHeight,
      g.strideWidth, g.padTop, g.padLeft, positions, g.filterHeight * g.filterWidth * g.inChannels,
      Math.ceil(positions / ROWS / splits),
    ]
    return values.map((v) => ({ type: 'int32', data: [v] }))
  }

  getUserCode(): string {
    return `
    var<workgroup> tileX: array<f32, ${ROWS * TILE}>;
    var<workgroup> tileDy: array<f32, ${ROWS * TILE}>;

    // x at im2col row p (n, oh, ow) and column (kh, kw, ci), 0 in the padding.
    fn im2col(p: i32, kh: i32, kw: i32, ci: i32) -> f32 {
      let plane = uniforms.outHeight * uniforms.outWidth;
      let n = p / plane;
      let rem = p - n * plane;
      let oh = rem / uniforms.outWidth;
      let ow = rem - oh * uniforms.outWidth;
      let ih = oh * uniforms.strideHeight - uniforms.padTop + kh;
      let iw = ow * uniforms.strideWidth - uniforms.padLeft + kw;
      if (ih < 0 || ih >= uniforms.inHeight || iw < 0 || iw >= uniforms.inWidth) { return 0.0; }
      return x[((n * uniforms.inHeight + ih) * uniforms.inWidth + iw) * uniforms.inChannels + ci];
    }

    fn main(index: i32) {
      let tx = i32(localId.x);
      let ty = i32(localId.y);
      let tid = ty * 16 + tx;
      let col0 = i32(workgroupId.x) * ${TILE};
      let row0 = i32(workgroupId.y) * ${TILE};
      let split = i32(workgroupId.z);
      let K = uniforms.reduction;
      let Co = uniforms.outChannels;

      // This invocation always stages column tid % 64 of both tiles: decompose its k once.
      let loadCol = tid % ${TILE};
      let loadRow = tid / ${TILE};
      let k = row0 + loadCol;
      let kValid = k < K;
      let perRow = uniforms.filterWidth * uniforms.inChannels;
      let kh = k / perRow;
      let kw = (k - kh * perRow) / uniforms.inChannels;
      let ci = k - kh * perRow - kw * uniforms.inChannels;
      let co = col0 + loadCol;
      let coValid = co < Co;

      let pStart = split * uniforms.tilesPerSplit * ${ROWS};
      let pEnd = min(pStart + uniforms.tilesPerSplit * ${ROWS}, uniforms.positions);

      var acc: array<array<f32, 4>, 4>;
      for (var t = 0; t < uniforms.tilesPerSplit; t = t + 1) {
        let pBase = pStart + t * ${ROWS};
        for (var e = 0; e < ${(ROWS * TILE) / 256}; e = e + 1) {
          let r = loadRow + e * ${256 / TILE};
          let p = pBase + r;
          var xv = 0.0;
          var dv = 0.0;
          if (p < pEnd) {
            if (kValid) { xv = im2col(p, kh, kw, ci); }
            if (coValid) { dv = dy[p * Co + co]; }
          }
          tileX[r * ${TILE} + loadCol] = xv;
          tileDy[r * ${TILE} + loadCol] = dv;
        }
        workgroupBarrier();
        for (var r = 0; r < ${ROWS}; r = r + 1) {
          var a: array<f32, 4>;
          var b: array<f32, 4>;
          for (var i = 0; i < 4; i = i + 1) {
            a[i] = tileX[r * ${TILE} + ty + 16 * i];
            b[i] = tileDy[r * ${TILE} + tx + 16 * i];
          }
          for (var i = 0; i < 4; i = i + 1) {
            for (var j = 0; j < 4; j = j + 1) { acc[i][j] = acc[i][j] + a[i] * b[j]; }
          }
        }
        workgroupBarrier();
      }

      let base = split * K * Co;
      for (var i = 0; i < 4; i = i + 1) {
        let kk = row0 + ty + 16 * i;
        for (var j = 0; j < 4; j = j + 1) {
          let cc = col0 + tx + 16 * j;
          if (kk < K && cc < Co) { result[base + kk * Co + cc] = acc[i][j]; }
        }
      }
    }`
  }
}

/** result[i] = Σ_s partials[s, i], s in order. Inputs: partials [splits, size]. */
export class SumSplitsProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [256, 1, 1]
  readonly size = true
  readonly variableNames = ['partials']
  readonly extraOutputNames: readonly string[] = []
  readonly uniforms = 'splits : i32,'
  shaderKey = 'tinylabSumSplits'

  constructor(outputShape: number[]) {
    this.outputShape = outputShape
    this.dispatchLayout = { x: outputShape.map((_, i) => i) }
    this.dispatch = [Math.ceil(outputShape.reduce((a, b) => a * b, 1) / 256), 1, 1]
  }

  getUserCode(): string {
    return `
    fn main(index: i32) {
      if (index < uniforms.size) {
        var s = 0.0;
        for (var i = 0; i < uniforms.splits; i = i + 1) { s = s + partials[i * uniforms.size + index]; }
        result[index] = s;
      }
    }`
  }
}
