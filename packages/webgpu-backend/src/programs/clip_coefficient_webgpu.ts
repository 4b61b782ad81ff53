/**
 * WGSL of TinylabClipCoefficient (kernels/ClipCoefficient.ts): clip_grad_norm_'s tail, from the squared norms to the
 * clamped coefficient, in one invocation: the sums are a few hundred values at most (one per parameter tensor), so a
 * single thread adds them in order and the five scalar dispatches of the composed ops become one.
 */
import { extraOutputDeclarations } from './_program'
import type { TinylabProgram } from './_program'

/** result = [√Σ sums]; extra output coef = [min(maxNorm / (result + 1e-6), 1)] (NaN stays NaN). Input: sums. */
export class ClipCoefficientProgram implements TinylabProgram {
  readonly outputShape = [1]
  readonly dispatchLayout = { x: [0] }
  readonly dispatch: [number, number, number] = [1, 1, 1]
  readonly workgroupSize: [number, number, number] = [1, 1, 1]
  readonly extraOutputNames = ['coef'] as const
  readonly variableNames = ['sums', 'coefSlot']
  readonly uniforms = 'count : i32, maxNorm : f32,'
  shaderKey = 'tinylabClipCoefficient'

  getUserCode(): string {
    return `
    ${extraOutputDeclarations(1, this.extraOutputNames)}
    fn main(index: i32) {
      if (index != 0) { return; }
      var s = 0.0;
      for (var i = 0; i < uniforms.count; i = i + 1) { s = s + sums[i]; }
      let total = sqrt(s);
      let c = uniforms.maxNorm / (total + 1e-6);
      result[0] = total;
      // tf.minimum keeps NaN; WGSL's min may not.
      coef[0] = select(min(c, 1.0), c, (bitcast<u32>(c) & 0x7fffffffu) > 0x7f800000u);
    }`
  }
}
